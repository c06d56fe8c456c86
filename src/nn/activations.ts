import * as tf from '@tensorflow/tfjs-core'
import type { Empty, Layer } from './layer.js'
import { statelessLayer } from './stateless.js'

/**
 * An element-wise (or last-axis) activation: a pure function from a tensor to a new tensor.
 *
 * @example
 * const swish: nn.ActivationFn = (t) => tf.mul(t, tf.sigmoid(t))
 * nn.dense({ units: 64, activation: swish })
 */
export type ActivationFn = (x: tf.Tensor) => tf.Tensor

/**
 * The activations that layers accept by name, e.g. `dense({ units: 10, activation: 'relu' })`.
 * `'linear'` is the identity. `'leakyRelu'` uses PyTorch's default slope 0.01; for another slope
 * pass a function, e.g. `activation: (x) => tf.leakyRelu(x, 0.2)`.
 *
 * @example
 * const activation: nn.Activation = 'gelu'
 * nn.dense({ units: 64, activation })
 */
export type Activation =
  | 'linear'
  | 'relu'
  | 'leakyRelu'
  | 'elu'
  | 'gelu'
  | 'geluTanh'
  | 'silu'
  | 'sigmoid'
  | 'tanh'
  | 'softmax'
  | 'logSoftmax'

/** Default negative slope of `leakyRelu` (PyTorch's; Keras uses 0.3 or 0.2). */
export const LEAKY_RELU_SLOPE = 0.01

const SQRT_HALF = Math.SQRT1_2
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI)

/** GELU, exact form x·Φ(x) = 0.5·x·(1 + erf(x/√2)): PyTorch's and Keras' default. */
const geluExact: ActivationFn = (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, SQRT_HALF))))

/** GELU, tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch `approximate='tanh'`, GPT-2). */
const geluTanhApprox: ActivationFn = (x) => {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI)
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)))
}

/**
 * The activations as pure functions, by name. Each allocates a new tensor (`linear` a cheap
 * clone, so the result can be disposed without disposing the input). `softmax` and
 * `logSoftmax` act on the last axis.
 *
 * @example
 * nn.activations.gelu(tf.tensor([0, 1])) // [0, 0.8413]
 */
export const activations: Readonly<Record<Activation, ActivationFn>> = {
  linear: (x) => tf.clone(x),
  relu: (x) => tf.relu(x),
  leakyRelu: (x) => tf.leakyRelu(x, LEAKY_RELU_SLOPE),
  elu: (x) => tf.elu(x),
  gelu: geluExact,
  geluTanh: geluTanhApprox,
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softmax: (x) => tf.softmax(x),
  logSoftmax: (x) => tf.logSoftmax(x),
}

/**
 * Resolves an activation option (a name or a function) to a function.
 *
 * @example
 * nn.activationFn('relu')(tf.tensor([-1, 2])) // [0, 2]
 */
export const activationFn = (activation: Activation | ActivationFn): ActivationFn =>
  typeof activation === 'function' ? activation : activations[activation]

/**
 * How an activation option appears in a layer's `config`: its name, `'linear'` when absent,
 * `'custom'` for a function (which no exporter can name).
 */
export const activationConfigName = (activation: Activation | ActivationFn | undefined): Activation | 'custom' =>
  activation === undefined ? 'linear' : typeof activation === 'function' ? 'custom' : activation

/**
 * A layer applying a named activation; its params and state are empty and it keeps the shape.
 *
 * @example
 * nn.sequential(nn.dense({ units: 256 }), nn.activationLayer('geluTanh'), nn.dense({ units: 64 }))
 */
export const activationLayer = (name: Activation): Layer<Empty, Empty> =>
  statelessLayer(name, (s) => s, activations[name], { activation: name })

/**
 * ReLU layer: max(x, 0).
 *
 * @example
 * nn.sequential(nn.dense({ units: 128 }), nn.relu(), nn.dense({ units: 10 }))
 */
export const relu = (): Layer<Empty, Empty> => activationLayer('relu')

/**
 * Leaky ReLU layer: x for x ≥ 0, alpha·x otherwise (default alpha 0.01, as in PyTorch).
 *
 * @example
 * nn.sequential(nn.dense({ units: 128 }), nn.leakyRelu(0.2), nn.dense({ units: 10 }))
 */
export const leakyRelu = (alpha = LEAKY_RELU_SLOPE): Layer<Empty, Empty> =>
  statelessLayer('leakyRelu', (s) => s, (x) => tf.leakyRelu(x, alpha), { activation: 'leakyRelu', alpha })

/**
 * ELU layer (alpha 1): x for x > 0, eˣ − 1 otherwise.
 *
 * @example
 * nn.sequential(nn.dense({ units: 128 }), nn.elu(), nn.dense({ units: 10 }))
 */
export const elu = (): Layer<Empty, Empty> => activationLayer('elu')

/**
 * GELU layer. Exact (erf) form by default, as PyTorch and Keras; `{ approximate: 'tanh' }`
 * selects the tanh approximation (GPT-2, BERT reference code).
 *
 * @example
 * nn.sequential(nn.dense({ units: 3072 }), nn.gelu({ approximate: 'tanh' }), nn.dense({ units: 768 }))   // GPT-2's MLP
 */
export const gelu = (options: { readonly approximate?: 'none' | 'tanh' } = {}): Layer<Empty, Empty> =>
  activationLayer(options.approximate === 'tanh' ? 'geluTanh' : 'gelu')

/**
 * SiLU/swish layer: x·sigmoid(x).
 *
 * @example
 * nn.sequential(nn.conv2d({ filters: 32, kernelSize: 3 }), nn.silu())
 */
export const silu = (): Layer<Empty, Empty> => activationLayer('silu')

/**
 * Sigmoid layer: 1 / (1 + e⁻ˣ).
 *
 * @example
 * const probability = nn.sequential(nn.dense({ units: 1 }), nn.sigmoid())   // [batch, 1] in (0, 1)
 */
export const sigmoid = (): Layer<Empty, Empty> => activationLayer('sigmoid')

/**
 * Tanh layer.
 *
 * @example
 * nn.sequential(nn.dense({ units: 32 }), nn.tanh(), nn.dense({ units: 1 }))
 */
export const tanh = (): Layer<Empty, Empty> => activationLayer('tanh')

/**
 * Softmax over the last axis. For training, prefer logits with `softmaxCrossEntropy`.
 *
 * @example
 * const classifier = nn.sequential(nn.dense({ units: 10 }), nn.softmax())   // rows of probabilities, for prediction
 */
export const softmax = (): Layer<Empty, Empty> => activationLayer('softmax')

/**
 * Log-softmax over the last axis (numerically stable log of softmax).
 *
 * @example
 * nn.sequential(nn.dense({ units: 10 }), nn.logSoftmax())   // log-probabilities per class
 */
export const logSoftmax = (): Layer<Empty, Empty> => activationLayer('logSoftmax')
