import * as tf from '@tensorflow/tfjs-core'
import { type DenseAttrs, registerDenseGradient } from './denseGradient.js'
import { DENSE, DENSE_BACKWARD } from './fusedKernelNames.js'
import { wasmBiasIn } from './wasmBias.js'
import { offsetOf, type WasmBackendInternals } from './wasmModule.js'

/**
 * The fused dense kernels (`RxtrainDense`, `RxtrainDenseBackward`) on the wasm backend: the
 * matrix product is wasm's own BatchMatMul kernel, and everything after it (bias add and ReLU
 * forward; ReLU gradient and bias gradient backward) is one SIMD pass each (wasmBias.wat) where
 * tfjs runs Add and Relu, then Step, Cast, Multiply and a Sum that transposes first. The same
 * float32 operations in the same order, so a network trains bitwise as it does op by op.
 */

const wasmKernel = (name: string): tf.KernelFunc => {
  const k = tf.getKernel(name, 'wasm')
  if (k === undefined) throw new Error(`wasm backend has no ${name} kernel`)
  return k.kernelFunc
}

/** Runs a tfjs kernel, disposing `consumed` (temporaries of this kernel) afterwards. */
const then = (backend: tf.KernelBackend, consumed: tf.TensorInfo, name: string, inputs: tf.NamedTensorInfoMap, attrs: object = {}): tf.TensorInfo => {
  const out = wasmKernel(name)({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo
  backend.disposeData(consumed.dataId)
  return out
}

const dense: tf.KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as tf.KernelBackend
  const { a, b, bias } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo }
  const { activation } = attrs as unknown as DenseAttrs
  const relu = activation === 'relu'
  const z = wasmKernel('BatchMatMul')({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo
  if (bias === undefined && !relu) return z
  const [rows, cols] = z.shape as [number, number]
  const kernel = wasmBiasIn(backend)
  if (kernel === undefined) {
    // tfjs's kernels, as the op path runs them.
    const biased = bias === undefined ? z : then(backend, z, 'Add', { a: z, b: bias })
    return relu ? then(backend, biased, 'Relu', { x: biased }) : biased
  }
  // z is this kernel's own new tensor: the tail runs in place.
  kernel.biasRelu(offsetOf(backend, z), bias === undefined ? 0 : offsetOf(backend, bias), rows, cols, bias === undefined ? 0 : 1, relu ? 1 : 0)
  return z
}

const denseBackward: tf.KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as tf.KernelBackend
  const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo }
  const { activation } = attrs as unknown as DenseAttrs
  const relu = activation === 'relu'
  const [rows, cols] = dy.shape as [number, number]
  const kernel = wasmBiasIn(backend)
  const wasm = backend as unknown as WasmBackendInternals
  if (kernel === undefined) {
    const sum = (x: tf.TensorInfo) => wasmKernel('Sum')({ inputs: { x }, backend, attrs: { axis: [0], keepDims: false } }) as tf.TensorInfo
    if (!relu) return [sum(dy)]
    const step = wasmKernel('Step')({ inputs: { x: y }, backend, attrs: { alpha: 0 } }) as tf.TensorInfo
    const dz = then(backend, step, 'Multiply', { a: dy, b: step })
    return [dz, sum(dz)]
  }
  const dz = relu ? wasm.makeOutput([rows, cols], 'float32') : undefined
  const dbias = wasm.makeOutput([cols], 'float32')
  kernel.denseBackward(offsetOf(backend, dy), relu ? offsetOf(backend, y) : 0, dz === undefined ? 0 : offsetOf(backend, dz), offsetOf(backend, dbias), rows, cols, relu ? 1 : 0)
  return dz === undefined ? [dbias] : [dz, dbias]
}

/**
 * Registers the fused dense kernels for wasm (idempotent), with their gradient. Only where the
 * bias kernels compile (`registerWasmBias`): dense layers on wasm then take this route.
 */
export const registerWasmDense = (): void => {
  registerDenseGradient()
  if (tf.getKernel(DENSE, 'wasm') === undefined) tf.registerKernel({ kernelName: DENSE, backendName: 'wasm', kernelFunc: dense })
  if (tf.getKernel(DENSE_BACKWARD, 'wasm') === undefined) tf.registerKernel({ kernelName: DENSE_BACKWARD, backendName: 'wasm', kernelFunc: denseBackward })
}
