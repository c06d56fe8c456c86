import * as tf from '@tensorflow/tfjs-core'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireDecayRate, requireNonNegative } from './validate.js'

/** Adam's hyperparameters; every field has the Optax/PyTorch default. */
export interface AdamOptions {
  /** Decay of the first moment (mean of the gradients). Default 0.9. */
  readonly b1?: number
  /** Decay of the second moment (mean of the squared gradients). Default 0.999. */
  readonly b2?: number
  /** Added to the root of the second moment, outside the square root. Default 1e-8. */
  readonly eps?: number
  /** Added to the second moment inside the square root (Optax's `eps_root`). Default 0. */
  readonly epsRoot?: number
}

/** Adam's memory: the step count and the two moment trees (shaped like the parameters). */
export type AdamState = { readonly count: number; readonly mu: Params; readonly nu: Params }

/**
 * Rescales updates by Adam's rule (Kingma & Ba 2015, in Optax's form), without the learning
 * rate (chain `scaleByLearningRate` after it, as `adam` does):
 *
 *     mu = b1 mu + (1 - b1) g        nu = b2 nu + (1 - b2) g²        t = count + 1
 *     update = (mu / (1 - b1^t)) / (sqrt(nu / (1 - b2^t) + epsRoot) + eps)
 *
 * The bias corrections are computed on the host in double precision from the plain-number count.
 *
 * @example
 * const optimizer = chain(clipByGlobalNorm(1), scaleByAdam({ b2: 0.98 }), scaleByLearningRate(3e-4))
 */
export const scaleByAdam = (options: AdamOptions = {}): GradientTransform<AdamState> => {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = options
  requireDecayRate('scaleByAdam', 'b1', b1)
  requireDecayRate('scaleByAdam', 'b2', b2)
  requireNonNegative('scaleByAdam', 'eps', eps)
  requireNonNegative('scaleByAdam', 'epsRoot', epsRoot)
  return {
    init: (params) => ({
      count: 0,
      mu: mapParams(params, (p) => tf.zerosLike(p)),
      nu: mapParams(params, (p) => tf.zerosLike(p)),
    }),
    update: (updates, state) => {
      const count = state.count + 1
      const [b1s, b2s, c1s, c2s] = [b1, b2, 1 - b1, 1 - b2].map((v) => tf.scalar(v)) as [
        tf.Scalar,
        tf.Scalar,
        tf.Scalar,
        tf.Scalar,
      ]
      const mu = zipParams(updates, state.mu, (g, m) => tf.add(tf.mul(m, b1s), tf.mul(g, c1s)))
      const nu = zipParams(updates, state.nu, (g, v) => tf.add(tf.mul(v, b2s), tf.mul(tf.square(g), c2s)))
      const correction1 = tf.scalar(1 - b1 ** count)
      const correction2 = tf.scalar(1 - b2 ** count)
      const epsScalar = tf.scalar(eps)
      const out = zipParams(mu, nu, (m, v) => {
        const nuHat = tf.div(v, correction2)
        const root = tf.sqrt(epsRoot === 0 ? nuHat : tf.add(nuHat, tf.scalar(epsRoot)))
        return tf.div(tf.div(m, correction1), tf.add(root, epsScalar))
      })
      return [out, { count, mu, nu }]
    },
  }
}
