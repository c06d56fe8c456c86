import * as tf from '@tensorflow/tfjs-core'
import { requireHostReads } from './backend.js'
import { type HalfFormat, roundArray } from './halfFloat.js'

const roundTensor = (x: tf.Tensor, format: HalfFormat): tf.Tensor => {
  requireHostReads('half-precision emulation (it rounds values on the host)', "use precision: '32-true' on this backend, or a half policy on cpu, wasm or tensorflow.")
  return tf.tensor(roundArray(x.dataSync() as Float32Array, format), x.shape, 'float32')
}

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
 * copies on cpu, a copy on wasm, a device round trip on a GPU. It emulates the numerics of half
 * precision; it does not make anything faster.
 *
 * @example
 * castHalf(tf.tensor([1 + 2 ** -11]), 'float16')   // [1]   (a tie, to even)
 */
export const castHalf = (x: tf.Tensor, format: HalfFormat): tf.Tensor => (x.dtype === 'float32' ? casts[format](x) : x)
