import type * as tf from '@tensorflow/tfjs-core'
import { type Empty, type Layer, type LayerConfig, type LayerContext, type Shape, empty } from './layer.js'

/**
 * Builds a layer that has no variables (activations, pooling, flatten, dropout): `init` only
 * infers the output shape, `apply` maps the input and hands the (empty) state back unchanged.
 *
 * @example
 * const square = nn.statelessLayer('square', (shape) => shape, (input) => tf.square(input))
 * nn.sequential(nn.dense({ units: 64 }), square, nn.dense({ units: 10 }))
 */
export const statelessLayer = (
  kind: string,
  outputShape: (inputShape: Shape) => Shape,
  forward: (x: tf.Tensor, ctx: LayerContext) => tf.Tensor,
  config?: LayerConfig,
): Layer<Empty, Empty> => ({
  kind,
  ...(config === undefined ? {} : { config }),
  init: (_key, inputShape) => ({ params: empty, state: empty, outputShape: outputShape(inputShape) }),
  apply: (model, x, ctx) => ({ y: forward(x, ctx), state: model.state }),
})
