import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { split } from '../random/key.js'
import { type Initializer, ones, zeros } from './init.js'
import { type Empty, type Layer, empty } from './layer.js'
import { shapeError } from './shapes.js'

/**
 * Options of `layerNorm`.
 *
 * @example
 * const options: nn.LayerNormOptions = { eps: 1e-6 }
 * nn.layerNorm(options)
 */
export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5, as PyTorch). */
  readonly eps?: number
  /** Scale initialiser (default `ones`). */
  readonly gammaInit?: Initializer
  /** Shift initialiser (default `zeros`). */
  readonly betaInit?: Initializer
}

/**
 * Variables of `layerNorm`: per-feature scale `gamma` and shift `beta`, each [features].
 *
 * @example
 * const { params } = nn.layerNorm().init(key(0), [16, 64])
 * const { gamma, beta }: nn.LayerNormParams = params   // [64] each
 */
export type LayerNormParams = { readonly gamma: tf.Tensor; readonly beta: tf.Tensor }

/**
 * Layer normalisation (Ba et al. 2016) over the last axis: each position is normalised with its
 * own mean and biased variance, y = gamma·(x − mean)/sqrt(var + eps) + beta. It has no state and
 * behaves the same in training and evaluation.
 *
 * @example
 * const ln = nn.layerNorm()
 * const { params } = ln.init(key(0), [16, 64])   // gamma, beta: [64]
 */
export const layerNorm = (options: LayerNormOptions = {}): Layer<LayerNormParams, Empty> => {
  const { eps = 1e-5, gammaInit = ones, betaInit = zeros } = options
  if (!(eps > 0))
    throw rxtrainError('ConfigError', `layerNorm: eps must be positive, got ${eps}`, 'use e.g. layerNorm({ eps: 1e-5 }).', { eps })
  return {
    kind: 'layerNorm',
    config: { eps },
    init: (k, inputShape) => {
      const features = inputShape.at(-1)
      if (features === undefined)
        throw shapeError('layerNorm', ['batch', '...', 'features'], [...inputShape], 'initialise layerNorm with a feature shape such as [64].')
      const [gammaKey, betaKey] = split(k)
      return {
        params: { gamma: gammaInit(gammaKey, [features]), beta: betaInit(betaKey, [features]) },
        state: empty,
        outputShape: inputShape,
      }
    },
    apply: ({ params, state }, x, _ctx) => {
      const features = params.gamma.shape[0] as number
      if (x.rank < 2 || x.shape.at(-1) !== features)
        throw shapeError('layerNorm', ['batch', ...(x.rank > 2 ? ['...'] : []), features], x.shape, `feed ${features} features in the last dimension, or initialise layerNorm for this input.`)
      const { mean, variance } = tf.moments(x, -1, true)
      const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)))
      return { y: tf.add(tf.mul(xhat, params.gamma), params.beta), state }
    },
  }
}
