import * as tf from '@tensorflow/tfjs-core'
import { gemmKernel, keepXnnpackBatchMatMul } from './wasmGemm.js'

/**
 * Corrections and additions to tfjs-backend-wasm 4.22's kernels, registered when the wasm backend
 * initialises: kernels that give wrong results are replaced by ones that delegate to the
 * original, and training kernels it lacks are built from its existing kernels.
 */

type KernelFunc = tf.KernelConfig['kernelFunc']

const replaceKernel = (kernelName: string, make: (original: KernelFunc) => KernelFunc): void => {
  const original = tf.getKernel(kernelName, 'wasm')
  if (original === undefined || (original as { rxtrainPatched?: boolean }).rxtrainPatched === true) return
  tf.unregisterKernel(kernelName, 'wasm')
  const config = { ...original, kernelFunc: make(original.kernelFunc) }
  tf.registerKernel(config)
  ;(tf.getKernel(kernelName, 'wasm') as { rxtrainPatched?: boolean }).rxtrainPatched = true
}

/**
 * wasm's OneHot writes int32 values whatever `dtype` asks for, so a float32 one-hot reads as
 * denormals (1 becomes 1.4e-45) and a cross-entropy built on it silently trains on nothing.
 * The fix computes the int32 one-hot and casts it.
 */
const oneHotWithDtype = (original: KernelFunc): KernelFunc => (args) => {
  const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? 'int32'
  if (dtype === 'int32') return original(args)
  const ints = original({ ...args, attrs: { ...args.attrs, dtype: 'int32' } }) as tf.TensorInfo
  const cast = tf.getKernel('Cast', 'wasm')
  if (cast === undefined) throw new Error('wasm backend has no Cast kernel')
  const out = cast.kernelFunc({ inputs: { x: ints }, backend: args.backend, attrs: { dtype } })
  ;(args.backend as tf.KernelBackend).disposeData(ints.dataId)
  return out
}

/**
 * wasm's Identity copies its input. The engine calls it for every tensor it saves for the backward
 * pass (about 0.2 ms of a small MLP's step); like the cpu and webgl backends, this one shares the
 * input's memory instead (counting the reference, as wasm's own Reshape does): tensors are
 * immutable, and a variable's `assign` swaps its data rather than writing into it.
 */
const identitySharing: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo
  ;(backend as tf.KernelBackend).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

const wasmKernel = (name: string): KernelFunc => {
  const k = tf.getKernel(name, 'wasm')
  if (k === undefined) throw new Error(`wasm backend has no ${name} kernel`)
  return k.kernelFunc
}

/**
 * The filter gradient of a convolution, which tfjs-backend-wasm does not implement (so no CNN
 * could train on wasm). It is the correlation of the input with the output gradient, computed
 * with wasm's own kernels: with the batch and channel axes of both swapped, the filter gradient
 * is a convolution of x by dy dilated by the forward stride, over the forward padding:
 * dW[i, j, c, o] = sum over n, h, w of x[n, s*h + i, s*w + j, c] * dy[n, h, w, o].
 */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo }
  const { strides, pad, dimRoundingMode, filterShape, dataFormat } = attrs as unknown as {
    strides: [number, number] | number
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
    dimRoundingMode?: 'floor' | 'round' | 'ceil'
    filterShape: [number, number, number, number]
    dataFormat?: 'NHWC' | 'NCHW'
  }
  if (dataFormat === 'NCHW') throw new Error("wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only")
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode)
  const wasm = backend as tf.KernelBackend
  const transpose = wasmKernel('Transpose')
  const temporaries: tf.TensorInfo[] = []
  const keep = (t: tf.TensorInfo): tf.TensorInfo => {
    temporaries.push(t)
    return t
  }
  try {
    const xT = keep(transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }) as tf.TensorInfo)
    const dyT = keep(transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as tf.TensorInfo)
    const { top, left } = info.padInfo
    const [kh, kw, cin, cout] = filterShape
    const [, inH, inW] = x.shape as [number, number, number, number]
    const [, dyH, dyW] = dy.shape as [number, number, number, number]
    // With 'ceil' rounding the last output rows read past the stated padding: pad until every
    // window that dy covers lies inside.
    const bottom = Math.max(info.padInfo.bottom, (dyH - 1) * info.strideHeight + kh - inH - top)
    const right = Math.max(info.padInfo.right, (dyW - 1) * info.strideWidth + kw - inW - left)
    const correlation = keep(
      wasmKernel('Conv2D')({
        inputs: { x: xT, filter: dyT },
        backend,
        attrs: {
          strides: [1, 1],
          pad: [
            [0, 0],
            [top, bottom],
            [left, right],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [info.strideHeight, info.strideWidth],
        },
      }) as tf.TensorInfo,
    )
    const cropped = keep(wasmKernel('Slice')({ inputs: { x: correlation }, backend, attrs: { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] } }) as tf.TensorInfo)
    return transpose({ inputs: { x: cropped }, backend, attrs: { perm: [1, 2, 0, 3] } })
  } finally {
    for (const t of temporaries) wasm.disposeData(t.dataId)
  }
}

/**
 * wasm's BatchMatMul is about ten times slower with a transposed operand than without (its
 * XNNPACK path only covers the plain layout), and every dense layer's gradient needs one: x^T dy
 * for the weights, dy W^T for the input. Transposing the operand first, with wasm's own fast
 * Transpose, and multiplying plainly gives the same numbers about eight times faster. (Most
 * products now run rxtrain's own kernel, wasmGemm.ts, which needs no transpose; this is the way
 * to XNNPACK for the rest.)
 */
const batchMatMulTransposingFirst = (original: KernelFunc): KernelFunc => (args) => {
  const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean } & Record<string, unknown>
  if (attrs.transposeA !== true && attrs.transposeB !== true) return original(args)
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
  const transpose = wasmKernel('Transpose')
  const swapLast = (t: tf.TensorInfo): tf.TensorInfo => {
    const perm = t.shape.map((_, i) => i)
    const n = perm.length
    ;[perm[n - 2], perm[n - 1]] = [perm[n - 1] as number, perm[n - 2] as number]
    return transpose({ inputs: { x: t }, backend: args.backend, attrs: { perm } }) as tf.TensorInfo
  }
  const temporaries: tf.TensorInfo[] = []
  try {
    const aa = attrs.transposeA === true ? swapLast(a) : a
    if (aa !== a) temporaries.push(aa)
    const bb = attrs.transposeB === true ? swapLast(b) : b
    if (bb !== b) temporaries.push(bb)
    return original({ ...args, inputs: { ...args.inputs, a: aa, b: bb }, attrs: { ...attrs, transposeA: false, transposeB: false } })
  } finally {
    for (const t of temporaries) (args.backend as tf.KernelBackend).disposeData(t.dataId)
  }
}

interface HostBackend {
  readSync(dataId: object): tf.backend_util.BackendValues
  makeTensorInfo?(shape: readonly number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo
  makeOutput?(shape: readonly number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo
  disposeData(dataId: object): void
}

/**
 * A training kernel tfjs-backend-wasm lacks, run by the cpu backend's implementation: the inputs
 * are copied out of wasm memory, computed in JavaScript, and the result copied back. These are
 * the gradients of depthwise convolutions and of `gather` (embeddings), rare enough in a step
 * that the copies cost little, and exact (the same code as the cpu backend).
 */
const viaCpuKernel =
  (kernelName: string): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const wasm = backend as unknown as HostBackend
    const cpu = tf.findBackend('cpu') as unknown as HostBackend | null
    const kernel = tf.getKernel(kernelName, 'cpu')
    if (cpu === null || kernel === undefined) throw new Error(`the cpu backend's ${kernelName} kernel is not available`)
    const moved: Record<string, tf.TensorInfo> = {}
    try {
      for (const [name, info] of Object.entries(inputs as Record<string, tf.TensorInfo>))
        moved[name] = (cpu.makeTensorInfo as NonNullable<HostBackend['makeTensorInfo']>)(info.shape, info.dtype, wasm.readSync(info.dataId))
      const out = kernel.kernelFunc({ inputs: moved, backend: cpu as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo
      try {
        return (wasm.makeOutput as NonNullable<HostBackend['makeOutput']>)(out.shape, out.dtype, undefined, cpu.readSync(out.dataId))
      } finally {
        cpu.disposeData(out.dataId)
      }
    } finally {
      for (const info of Object.values(moved)) cpu.disposeData(info.dataId)
    }
  }

/** Kernels that training needs and tfjs-backend-wasm 4.22 does not have. */
const missingTrainingKernels = ['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum'] as const

/**
 * wasm's MaxPoolGrad routes no gradient from a window whose maximum is not positive (it seems to
 * start its running maximum at 0): after a convolution without a ReLU, or a pooling of negative
 * values, the input gradient is wrong (found by the backend conformance suite). This one runs on
 * the host over wasm memory, one pass per window: each window's first maximum (row-major, NaN
 * never wins, as in the cpu kernel) receives the window's output gradient. The cpu backend's own
 * kernel gives the same numbers but made a small CNN's step three times slower.
 */
const maxPoolGradOnHost = (): KernelFunc => ({ inputs, backend, attrs }) => {
  const wasm = backend as unknown as HostBackend
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo }
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number
    strides: [number, number] | number
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
    dimRoundingMode?: 'floor' | 'round' | 'ceil'
  }
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode)
  const x = wasm.readSync(input.dataId) as Float32Array
  const g = wasm.readSync(dy.dataId) as Float32Array
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info
  const dx = new Float32Array(batchSize * inHeight * inWidth * c)
  // Channels are innermost in memory: track every channel's running maximum at once.
  const best = new Float64Array(c)
  const at = new Int32Array(c)
  let o = 0
  for (let b = 0; b < batchSize; b++)
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - info.padInfo.top
      for (let ow = 0; ow < outWidth; ow++, o += c) {
        const w0 = ow * strideWidth - info.padInfo.left
        best.fill(Number.NEGATIVE_INFINITY)
        at.fill(-1)
        for (let fh = 0; fh < filterHeight; fh++) {
          const hh = h0 + fh
          if (hh < 0 || hh >= inHeight) continue
          for (let fw = 0; fw < filterWidth; fw++) {
            const ww = w0 + fw
            if (ww < 0 || ww >= inWidth) continue
            const base = ((b * inHeight + hh) * inWidth + ww) * c
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch] as number
              if (v > (best[ch] as number)) {
                best[ch] = v
                at[ch] = base + ch
              }
            }
          }
        }
        for (let ch = 0; ch < c; ch++) {
          const i = at[ch] as number
          if (i >= 0) dx[i] = (dx[i] as number) + (g[o + ch] as number)
        }
      }
    }
  return (wasm.makeOutput as NonNullable<HostBackend['makeOutput']>)(input.shape, 'float32', undefined, dx)
}

/** Registers rxtrain's wasm kernel corrections and additions (idempotent). */
export const registerWasmKernelFixes = (): void => {
  replaceKernel('OneHot', oneHotWithDtype)
  replaceKernel('Identity', () => identitySharing)
  replaceKernel('MaxPoolGrad', maxPoolGradOnHost)
  // rxtrain's own product (wasmGemm.ts) where it applies, else XNNPACK's with the transposes first.
  replaceKernel('BatchMatMul', (original) => {
    keepXnnpackBatchMatMul(original)
    return gemmKernel(batchMatMulTransposingFirst(original))
  })
  replaceKernel('_FusedMatMul', (original) => gemmKernel(batchMatMulTransposingFirst(original)))
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined)
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter })
  for (const name of missingTrainingKernels)
    if (tf.getKernel(name, 'wasm') === undefined) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: viaCpuKernel(name) })
}
