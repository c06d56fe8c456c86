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
 * const kernel = nn.glorotUniform(key(0), [784, 10])   // a new [784, 10] float32 tensor
 * const smallNormal: nn.Initializer = nn.normalInit(0.02)
 * nn.dense({ units: 10, kernelInit: smallNormal })
 */
export type Initializer = (key: Key, shape: readonly number[]) => tf.Tensor

/**
 * Fan-in and fan-out of a weight shape.
 *
 * @example
 * const { fanIn, fanOut }: nn.Fans = nn.fansOf([784, 10])   // 784, 10
 * const limit = Math.sqrt(6 / (fanIn + fanOut))   // glorotUniform's
 */
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
 * nn.fansOf([3, 3, 16, 32]) // { fanIn: 144, fanOut: 288 }
 */
export const fansOf = (shape: readonly number[]): Fans => {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 }
  if (shape.length === 1) return { fanIn: shape[0] as number, fanOut: shape[0] as number }
  const receptive = sizeOf(shape.slice(0, -2))
  return { fanIn: (shape.at(-2) as number) * receptive, fanOut: (shape.at(-1) as number) * receptive }
}

const fromValues = (values: Float32Array, shape: readonly number[]): tf.Tensor => tf.tensor(values, [...shape], 'float32')

/**
 * All zeros (the default bias initialiser).
 *
 * @example
 * nn.zeros(key(0), [3]) // [0, 0, 0]
 * nn.dense({ units: 10, biasInit: nn.zeros })
 */
export const zeros: Initializer = (_key, shape) => tf.zeros([...shape], 'float32')

/**
 * All ones (the default batch/layer-norm scale).
 *
 * @example
 * nn.ones(key(0), [3]) // [1, 1, 1]
 * nn.layerNorm({ gammaInit: nn.ones })
 */
export const ones: Initializer = (_key, shape) => tf.ones([...shape], 'float32')

/**
 * Every element equal to `value`.
 *
 * @example
 * nn.dense({ units: 10, activation: 'relu', biasInit: nn.constant(0.1) })   // biases start at 0.1
 */
export const constant =
  (value: number): Initializer =>
  (_key, shape) =>
    tf.fill([...shape], value, 'float32')

/**
 * Independent N(mean, std²) draws (PyTorch's `nn.init.normal_`; `normalInit(1)` is its embedding default).
 *
 * @example
 * nn.embedding({ vocabSize: 50257, dim: 768, init: nn.normalInit(0.02) })   // N(0, 0.02²), as GPT-2
 */
export const normalInit =
  (std: number, mean = 0): Initializer =>
  (k, shape) =>
    fromValues(normal(k, sizeOf(shape), mean, std), shape)

/**
 * Independent U(−limit, limit) draws.
 *
 * @example
 * nn.embedding({ vocabSize: 10000, dim: 64, init: nn.uniformInit(0.05) })   // U(−0.05, 0.05), Keras' default
 */
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
 * nn.glorotUniform(key(0), [784, 10]) // limit = sqrt(6 / 794) ≈ 0.0869
 */
export const glorotUniform: Initializer = uniformVarianceScaling(1, 'fanAvg')

/**
 * Glorot/Xavier normal, Keras flavour: a normal truncated at ±2σ, with σ chosen so the
 * truncated draws have standard deviation sqrt(2 / (fanIn + fanOut)).
 *
 * @example
 * nn.dense({ units: 10, kernelInit: nn.glorotNormal })
 */
export const glorotNormal: Initializer = truncatedVarianceScaling(1, 'fanAvg')

/**
 * He/Kaiming normal, Keras flavour (for ReLU networks): truncated at ±2σ, standard deviation
 * sqrt(2 / fanIn) after truncation. (PyTorch's `kaiming_normal_` does not truncate.)
 *
 * @example
 * nn.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInit: nn.heNormal })
 */
export const heNormal: Initializer = truncatedVarianceScaling(2, 'fanIn')

/**
 * He/Kaiming uniform: U(−limit, limit) with limit = sqrt(6 / fanIn).
 *
 * @example
 * nn.dense({ units: 128, activation: 'relu', kernelInit: nn.heUniform })
 */
export const heUniform: Initializer = uniformVarianceScaling(2, 'fanIn')

/**
 * LeCun normal, Keras flavour (for SELU networks): truncated at ±2σ, standard deviation
 * sqrt(1 / fanIn) after truncation.
 *
 * @example
 * nn.dense({ units: 64, activation: (t) => tf.selu(t), kernelInit: nn.lecunNormal })
 */
export const lecunNormal: Initializer = truncatedVarianceScaling(1, 'fanIn')
