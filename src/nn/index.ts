/**
 * rxtrain's functional layer library: layers are `{ kind, init, apply }` records over immutable
 * parameter and state trees, initialisers are pure functions of a key, losses are pure
 * functions to a scalar. The package root re-exports this module as `nn`.
 *
 * @example
 * import { nn } from 'rxtrain'
 * const model = nn.sequential(nn.flatten(), nn.dense({ units: 128, activation: 'relu' }), nn.dense({ units: 10 }))
 */
export type { Empty, Layer, LayerConfig, LayerContext, LayerInit, LayerOutput, Shape } from './layer.js'
export { computeInput, empty } from './layer.js'
export type { Fans, Initializer } from './init.js'
export {
  constant,
  fansOf,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  normalInit,
  ones,
  uniformInit,
  zeros,
} from './init.js'
export type { Activation, ActivationFn } from './activations.js'
export {
  activationFn,
  activationLayer,
  activations,
  elu,
  gelu,
  leakyRelu,
  logSoftmax,
  relu,
  sigmoid,
  silu,
  softmax,
  tanh,
} from './activations.js'
export type { Padding, Pair } from './shapes.js'
export { statelessLayer } from './stateless.js'
export type { DenseOptions, DenseParams } from './dense.js'
export { dense } from './dense.js'
export type { Conv2dOptions, Conv2dParams } from './conv2d.js'
export { conv2d } from './conv2d.js'
export type { Pool2dOptions } from './pooling.js'
export { avgPool2d, globalAvgPool2d, maxPool2d } from './pooling.js'
export { flatten } from './flatten.js'
export { dropout } from './dropout.js'
export type { BatchNormOptions, BatchNormParams, BatchNormState } from './batchNorm.js'
export { batchNorm } from './batchNorm.js'
export type { LayerNormOptions, LayerNormParams } from './layerNorm.js'
export { layerNorm } from './layerNorm.js'
export type { EmbeddingOptions, EmbeddingParams } from './embedding.js'
export { embedding } from './embedding.js'
export type { SequentialLayer } from './sequential.js'
export { sequential } from './sequential.js'
export type { Summary, SummaryRow } from './summarize.js'
export { summarize } from './summarize.js'
export type { SoftmaxCrossEntropyOptions } from './losses.js'
export {
  huberLoss,
  meanAbsoluteError,
  meanSquaredError,
  sigmoidBinaryCrossEntropy,
  softmaxCrossEntropy,
} from './losses.js'
