import * as tf from '@tensorflow/tfjs-core'
import type { Key } from '../random/key.js'
import { normal, truncatedNormal, uniform } from '../random/sample.js'
import { sizeOf } from './shapes.js'

/**
 * An initialiser: a pure function from a key and a shape to a new float32 tensor. The values are
 * drawn on the host from the key (`src/random/sample.ts`), so the same key gives the same
 * parameters on every backend.
 *
 * @example
 * const kernel = glorotUniform(key(0), [784, 10])
 */
export type Initializer = (key: Key, shape: readonly number[]) => tf.Tensor

/** Fan-in and fan-out of a weight shape. */
export interface Fans {
  readonly fanIn: number
  readonly fanOut: number
}

/**
 * Keras' `_compute_fans`: a scalar has fans 1/1; a vector `[n]` has n/n; a dense kernel
 * `[in, out]` has in/out; a convolution kernel `[...window, in, out]` multiplies both by the
 * receptive field (e.g. `[kh, kw, in, out]`: fanIn = kh·kw·in, fanOut = kh·kw·out).
 *
 * @example
 * fansOf([3, 3, 16, 32]) // { fanIn: 144, fanOut: 288 }
 */
export const fansOf = (shape: readonly number[]): Fans => {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 }
  if (shape.length === 1) return { fanIn: shape[0] as number, fanOut: shape[0] as number }
  const receptive = sizeOf(shape.slice(0, -2))
  return { fanIn: (shape.at(-2) as number) * receptive, fanOut: (shape.at(-1) as number) * receptive }
}

const fromValues = (values: Float32Array, shape: readonly number[]): tf.Tensor => tf.tensor(values, [...shape], 'float32')

/** All zeros (the default bias initialiser). */
export const zeros: Initializer = (_key, shape) => tf.zeros([...shape], 'float32')

/** All ones (the default batch/layer-norm scale). */
export const ones: Initializer = (_key, shape) => tf.ones([...shape], 'float32')

/** Every element equal to `value`. */
export const constant =
  (value: number): Initializer =>
  (_key, shape) =>
    tf.fill([...shape], value, 'float32')

/** Independent N(mean, std²) draws (PyTorch's `nn.init.normal_`; `normalInit(1)` is its embedding default). */
export const normalInit =
  (std: number, mean = 0): Initializer =>
  (k, shape) =>
    fromValues(normal(k, sizeOf(shape), mean, std), shape)

/** Independent U(−limit, limit) draws. */
export const uniformInit =
  (limit: number): Initializer =>
  (k, shape) =>
    fromValues(uniform(k, sizeOf(shape), -limit, limit), shape)

/**
 * The standard deviation of a standard normal truncated to [−2, 2]. Keras divides the target
 * standard deviation by it so that the truncated draws have exactly the variance asked for.
 */
export const TRUNCATED_NORMAL_STD = 0.87962566103423978

/**
 * Keras' `VarianceScaling(scale, mode, 'truncated_normal')`: a normal truncated at two standard
 * deviations whose standard deviation (after truncation) is sqrt(scale / n), n = fanIn,
 * fanOut or their mean according to `mode`.
 */
const truncatedVarianceScaling =
  (scale: number, mode: 'fanIn' | 'fanAvg'): Initializer =>
  (k, shape) => {
    const { fanIn, fanOut } = fansOf(shape)
    const n = mode === 'fanIn' ? fanIn : (fanIn + fanOut) / 2
    const std = Math.sqrt(scale / Math.max(1, n)) / TRUNCATED_NORMAL_STD
    return fromValues(truncatedNormal(k, sizeOf(shape), 0, std), shape)
  }

/** Keras' `VarianceScaling(scale, mode, 'uniform')`: U(−limit, limit), limit = sqrt(3·scale / n). */
const uniformVarianceScaling =
  (scale: number, mode: 'fanIn' | 'fanAvg'): Initializer =>
  (k, shape) => {
    const { fanIn, fanOut } = fansOf(shape)
    const n = mode === 'fanIn' ? fanIn : (fanIn + fanOut) / 2
    return uniformInit(Math.sqrt((3 * scale) / Math.max(1, n)))(k, shape)
  }

/**
 * Glorot/Xavier uniform (the default kernel initialiser of `dense` and `conv2d`, as in Keras):
 * U(−limit, limit) with limit = sqrt(6 / (fanIn + fanOut)).
 *
 * @example
 * glorotUniform(key(0), [784, 10]) // limit = sqrt(6 / 794) ≈ 0.0869
 */
export const glorotUniform: Initializer = uniformVarianceScaling(1, 'fanAvg')

/**
 * Glorot/Xavier normal, Keras flavour: a normal truncated at ±2σ, with σ chosen so the
 * truncated draws have standard deviation sqrt(2 / (fanIn + fanOut)).
 */
export const glorotNormal: Initializer = truncatedVarianceScaling(1, 'fanAvg')

/**
 * He/Kaiming normal, Keras flavour (for ReLU networks): truncated at ±2σ, standard deviation
 * sqrt(2 / fanIn) after truncation. (PyTorch's `kaiming_normal_` does not truncate.)
 */
export const heNormal: Initializer = truncatedVarianceScaling(2, 'fanIn')

/** He/Kaiming uniform: U(−limit, limit) with limit = sqrt(6 / fanIn). */
export const heUniform: Initializer = uniformVarianceScaling(2, 'fanIn')

/**
 * LeCun normal, Keras flavour (for SELU networks): truncated at ±2σ, standard deviation
 * sqrt(1 / fanIn) after truncation.
 */
export const lecunNormal: Initializer = truncatedVarianceScaling(1, 'fanIn')
