import * as tf from '@tensorflow/tfjs-core'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireConfig, requireDecayRate, requireNonNegative } from './validate.js'

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
  /**
   * How the bias corrections `1 - b^t` are computed. `'float64'` (default, as PyTorch and Optax):
   * from the step count in double precision. `'float32'`: from running float32 products `b^t =
   * b^(t-1) · b`, as `tf.train.adam` keeps them, which reproduces a tfjs Adam run bit for bit
   * (the products lose ~1e-5 relative accuracy in `1 - b2^t`; use it to match tfjs, not by default).
   */
  readonly biasCorrection?: 'float64' | 'float32'
}

/** Adam's memory: the step count and the two moment trees (shaped like the parameters). */
export type AdamState = { readonly count: number; readonly mu: Params; readonly nu: Params }

/**
 * `b1^t` and `b2^t` as tf.train.adam holds them: float32 variables that start at `b` and are
 * multiplied by `b` after each step (`fround` is float32 rounding, so `1 - b^t` then rounds as
 * its float32 subtraction does). The last powers are remembered, so counting up costs one product
 * per step; a smaller count (a resumed or repeated state) starts the products again.
 */
const float32Powers = (b1: number, b2: number): ((count: number) => readonly [number, number]) => {
  const [f1, f2] = [Math.fround(b1), Math.fround(b2)]
  let last = { count: 1, p1: f1, p2: f2 }
  return (count) => {
    let { count: t, p1, p2 } = count >= last.count ? last : { count: 1, p1: f1, p2: f2 }
    for (; t < count; t++) [p1, p2] = [Math.fround(p1 * f1), Math.fround(p2 * f2)]
    last = { count: t, p1, p2 }
    return [p1, p2]
  }
}

/**
 * Rescales updates by Adam's rule (Kingma & Ba 2015, in Optax's form), without the learning
 * rate (chain `scaleByLearningRate` after it, as `adam` does):
 *
 *     mu = b1 mu + (1 - b1) g        nu = b2 nu + (1 - b2) g²        t = count + 1
 *     update = (mu / (1 - b1^t)) / (sqrt(nu / (1 - b2^t) + epsRoot) + eps)
 *
 * The bias corrections are computed on the host from the plain-number count: in double precision,
 * or with `biasCorrection: 'float32'` as tf.train.adam computes them.
 *
 * @example
 * const optimizer = chain(clipByGlobalNorm(1), scaleByAdam({ b2: 0.98 }), scaleByLearningRate(3e-4))
 */
export const scaleByAdam = (options: AdamOptions = {}): GradientTransform<AdamState> => {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, biasCorrection = 'float64' } = options
  requireDecayRate('scaleByAdam', 'b1', b1)
  requireDecayRate('scaleByAdam', 'b2', b2)
  requireNonNegative('scaleByAdam', 'eps', eps)
  requireNonNegative('scaleByAdam', 'epsRoot', epsRoot)
  requireConfig(biasCorrection === 'float64' || biasCorrection === 'float32', 'scaleByAdam', 'biasCorrection', biasCorrection, "'float64' or 'float32'")
  const powers = biasCorrection === 'float32' ? float32Powers(b1, b2) : (count: number) => [b1 ** count, b2 ** count] as const
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
      const [power1, power2] = powers(count)
      const correction1 = tf.scalar(1 - power1)
      const correction2 = tf.scalar(1 - power2)
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
