import * as tf from '@tensorflow/tfjs-core'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireDecayRate, requireNonNegative } from './validate.js'

/**
 * RMSprop's hyperparameters (PyTorch names in comments).
 *
 * @example
 * const options: optim.RmsOptions = { decay: 0.9, centered: true }
 * const optimizer = optim.chain(optim.scaleByRms(options), optim.scaleByLearningRate(1e-3))
 */
export interface RmsOptions {
  /** Decay of the running mean of squared gradients (PyTorch `alpha`). Default 0.99. */
  readonly decay?: number
  /** Added to the root, outside the square root. Default 1e-8. */
  readonly eps?: number
  /** Normalise by the running variance instead of the running mean square. Default false. */
  readonly centered?: boolean
}

/**
 * RMSprop's memory: the mean square of the gradients and, when centered, their mean.
 *
 * @example
 * const rmsState: optim.RmsState = optim.scaleByRms().init(params) // { squareAvg: zeros, gradAvg: null }
 */
export type RmsState = { readonly squareAvg: Params; readonly gradAvg: Params | null }

/**
 * Divides updates by the root of a running mean of their squares, following PyTorch's RMSprop
 * (no learning rate, no momentum: chain `trace` and `scaleByLearningRate` after it, as `rmsprop`
 * does):
 *
 *     v = decay v + (1 - decay) g²                       update = g / (sqrt(v) + eps)
 *     centered: m = decay m + (1 - decay) g,             update = g / (sqrt(v - m²) + eps)
 *
 * The state starts at zero and there is no bias correction (as in PyTorch). Unlike Optax's
 * `scale_by_rms`, eps is added outside the root. When centered, `v - m²` is floored at 0 so that
 * float rounding cannot produce the root of a tiny negative number (NaN).
 *
 * @example
 * const optimizer = optim.chain(optim.scaleByRms({ centered: true }), optim.scaleByLearningRate(1e-2))
 */
export const scaleByRms = (options: RmsOptions = {}): GradientTransform<RmsState> => {
  const { decay = 0.99, eps = 1e-8, centered = false } = options
  requireDecayRate('scaleByRms', 'decay', decay)
  requireNonNegative('scaleByRms', 'eps', eps)
  const zeros = (params: Params): Params => mapParams(params, (p) => tf.zerosLike(p))
  return {
    init: (params) => ({ squareAvg: zeros(params), gradAvg: centered ? zeros(params) : null }),
    update: (updates, state) => {
      const keep = tf.scalar(decay)
      const mix = tf.scalar(1 - decay)
      const epsScalar = tf.scalar(eps)
      const squareAvg = zipParams(updates, state.squareAvg, (g, v) =>
        tf.add(tf.mul(v, keep), tf.mul(tf.square(g), mix)),
      )
      const gradAvg =
        state.gradAvg === null
          ? null
          : zipParams(updates, state.gradAvg, (g, m) => tf.add(tf.mul(m, keep), tf.mul(g, mix)))
      const variance =
        gradAvg === null ? squareAvg : zipParams(squareAvg, gradAvg, (v, m) => tf.relu(tf.sub(v, tf.square(m))))
      const out = zipParams(updates, variance, (g, v) => tf.div(g, tf.add(tf.sqrt(v), epsScalar)))
      return [out, { squareAvg, gradAvg }]
    },
  }
}
