import * as tf from '@tensorflow/tfjs-core'
import { type HalfFormat, roundArray } from './halfFloat.js'

/**
 * Rounds float32 tensors to a half format, as a differentiable op (see `castHalf`). A backend
 * record carries its own (`Backend.roundHalf`), absent where it cannot round: the rounding reads
 * values on the host, which webgpu in Node cannot do synchronously.
 */
export type HalfRounding = (x: tf.Tensor, format: HalfFormat) => tf.Tensor

const roundTensor = (x: tf.Tensor, format: HalfFormat): tf.Tensor => tf.tensor(roundArray(x.dataSync() as Float32Array, format), x.shape, 'float32')

/** The rounding as a differentiable op whose gradient is rounded the same way. */
const castTo = (format: HalfFormat) =>
  tf.customGrad((x) => ({ value: roundTensor(x as tf.Tensor, format), gradFunc: (dy) => roundTensor(dy as tf.Tensor, format) })) as (x: tf.Tensor) => tf.Tensor

const casts: Record<HalfFormat, (x: tf.Tensor) => tf.Tensor> = { float16: castTo('float16'), bfloat16: castTo('bfloat16') }

/**
 * A float32 tensor rounded to `format` (still float32 in memory), as an operation that
 * differentiates like a cast in a mixed-precision framework: the gradient that reaches the
 * half-precision copy is itself a half-precision value, so it is rounded too (which is where
 * small gradients underflow and large ones overflow, and why `16-mixed` scales the loss).
 * Other dtypes pass through unchanged.
 *
 * The rounding runs on the host (tfjs has no half-precision dtype and no kernel for it): free of
 * copies on cpu, a copy on wasm. It needs a backend that reads synchronously (`hostReads`); the
 * backend records that have one offer it as `roundHalf`, and webgpu offers `deviceCastHalf`
 * instead (the same bits, computed in WGSL). It emulates the numerics of half precision; it does
 * not make anything faster.
 *
 * @example
 * castHalf(tf.tensor([1 + 2 ** -11]), 'float16')   // [1]   (a tie, to even)
 */
export const castHalf: HalfRounding = (x, format) => (x.dtype === 'float32' ? casts[format](x) : x)

/**
 * The kernel that rounds on the device (attrs `{ format }`, input `x`, float32 out): registered
 * for webgpu in WGSL (`webgpuHalf.ts`) and for cpu here (the same `roundArray` as `castHalf`, so
 * a cpu run without host reads rounds bit for bit as one with them).
 */
export const ROUND_HALF_KERNEL = 'RxtrainRoundHalf'

if (tf.getKernel(ROUND_HALF_KERNEL, 'cpu') === undefined)
  tf.registerKernel({
    kernelName: ROUND_HALF_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x as tf.TensorInfo
      const cpu = backend as unknown as { readSync(id: object): tf.backend_util.BackendValues; makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo }
      return cpu.makeTensorInfo([...x.shape], 'float32', roundArray(cpu.readSync(x.dataId) as Float32Array, (attrs as { format: HalfFormat }).format))
    },
  })

const kernelRound = (x: tf.Tensor, format: HalfFormat): tf.Tensor => tf.engine().runKernel(ROUND_HALF_KERNEL, { x }, { format } as unknown as tf.NamedAttrMap) as tf.Tensor

const kernelCasts: Record<HalfFormat, (x: tf.Tensor) => tf.Tensor> = {
  float16: tf.customGrad((x) => ({ value: kernelRound(x as tf.Tensor, 'float16'), gradFunc: (dy) => kernelRound(dy as tf.Tensor, 'float16') })) as (x: tf.Tensor) => tf.Tensor,
  bfloat16: tf.customGrad((x) => ({ value: kernelRound(x as tf.Tensor, 'bfloat16'), gradFunc: (dy) => kernelRound(dy as tf.Tensor, 'bfloat16') })) as (x: tf.Tensor) => tf.Tensor,
}

/** `castHalf` computed on the device by `RxtrainRoundHalf` (no read back): the same bits. */
export const deviceCastHalf: HalfRounding = (x, format) => (x.dtype === 'float32' ? kernelCasts[format](x) : x)

/** The device rounding, where `backendName` has the kernel; else undefined. */
export const deviceRoundingOf = (backendName: string): HalfRounding | undefined => (tf.getKernel(ROUND_HALF_KERNEL, backendName) === undefined ? undefined : deviceCastHalf)
