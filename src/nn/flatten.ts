import * as tf from '@tensorflow/tfjs-core'
import type { Empty, Layer } from './layer.js'
import { shapeError, sizeOf } from './shapes.js'
import { statelessLayer } from './stateless.js'

/**
 * Flattens every dimension after the batch: `[batch, d1, d2, ...]` → `[batch, d1·d2·...]`
 * (row-major, so NHWC images flatten pixel by pixel, channels fastest, as in Keras).
 *
 * @example
 * nn.flatten().init(key(0), [7, 7, 64]).outputShape // [3136]
 */
export const flatten = (): Layer<Empty, Empty> =>
  statelessLayer(
    'flatten',
    (inputShape) => [sizeOf(inputShape)],
    (x) => {
      const batch = x.shape[0]
      if (batch === undefined)
        throw shapeError('flatten', ['batch', '...'], x.shape, 'give flatten a batched tensor (rank ≥ 1, batch first).')
      return tf.reshape(x, [batch, sizeOf(x.shape.slice(1))])
    },
  )
