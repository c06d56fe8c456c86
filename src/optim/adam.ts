import * as tf from '@tensorflow/tfjs-core'
import type { FusedAdamAttrs, FusedAdamResult } from '../backends/fusedAdam.js'
import { mapParams, zipParamsMany } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { GradientTransform, UpdateContext } from './transform.js'
import { requireConfig, requireDecayRate, requireNonNegative } from './validate.js'

/**
 * Adam's hyperparameters; every field has the Optax/PyTorch default.
 *
 * @example
 * const options: optim.AdamOptions = { b2: 0.98, eps: 1e-9 }
 * const optimizer = optim.chain(optim.scaleByAdam(options), optim.scaleByLearningRate(1e-3))
 */
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
  /**
   * Computes each leaf's moments and update in one kernel where the run's backend offers one
   * (its record's `kernels.adam`: wasm, cpu, webgpu), like PyTorch's `fused=True`: bitwise the same
   * numbers as op by op, in one pass over memory instead of twelve (on wasm a 784x256 leaf takes
   * ~0.23 ms instead of ~0.87 ms). The kernel comes with the update's context (the loop passes
   * its backend); an update called without one runs op by op. Default true; `false` runs one tfjs
   * op per operation, as `tf.train.adam` does.
   */
  readonly fused?: boolean
}

/**
 * Adam's memory: the step count and the two moment trees (shaped like the parameters).
 *
 * @example
 * const adamState: optim.AdamState = optim.scaleByAdam().init(params) // { count: 0, mu: zeros, nu: zeros }
 * const moments = countParams(adamState.mu)                          // as many as the parameters
 */
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

/** Adam's transform, and its step fused with the learning rate and the parameters' update (for `adam`). */
interface AdamCore {
  readonly transform: GradientTransform<AdamState>
  /**
   * The new parameters `params + update scale` and Adam's next state, through the backend's
   * `kernels.adamStep` (one pass per leaf; a leaf it declines is computed op by op, with the same
   * numbers); undefined where the backend has no such kernel or the options rule it out.
   */
  readonly step: (updates: Params, state: AdamState, params: Params, scale: number, ctx: UpdateContext | undefined) => readonly [Params, AdamState] | undefined
}

/** `scaleByAdam` and its fused step with the learning rate (see `AdamCore`). */
export const adamCore = (options: AdamOptions = {}): AdamCore => {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, biasCorrection = 'float64', fused = true } = options
  requireDecayRate('scaleByAdam', 'b1', b1)
  requireDecayRate('scaleByAdam', 'b2', b2)
  requireNonNegative('scaleByAdam', 'eps', eps)
  requireNonNegative('scaleByAdam', 'epsRoot', epsRoot)
  requireConfig(biasCorrection === 'float64' || biasCorrection === 'float32', 'scaleByAdam', 'biasCorrection', biasCorrection, "'float64' or 'float32'")
  requireConfig(typeof fused === 'boolean', 'scaleByAdam', 'fused', fused, 'true or false')
  const powers = biasCorrection === 'float32' ? float32Powers(b1, b2) : (count: number) => [b1 ** count, b2 ** count] as const
  const attrsAt = (count: number): FusedAdamAttrs => {
    const [power1, power2] = powers(count)
    return { b1, c1: 1 - b1, b2, c2: 1 - b2, k1: 1 - power1, k2: 1 - power2, eps }
  }
  /** One update's op-by-op leaf step (its scalars made once per update, if a leaf needs them). */
  const opByOpFor = (attrs: FusedAdamAttrs) => {
    let scalars: readonly [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar] | undefined
    return (g: tf.Tensor, m: tf.Tensor, v: tf.Tensor): FusedAdamResult => {
      scalars ??= [attrs.b1, attrs.c1, attrs.b2, attrs.c2, attrs.k1, attrs.k2, attrs.eps].map((x) => tf.scalar(x)) as unknown as NonNullable<typeof scalars>
      const [b1s, c1s, b2s, c2s, correction1, correction2, epsScalar] = scalars
      const mu = tf.add(tf.mul(m, b1s), tf.mul(g, c1s))
      const nu = tf.add(tf.mul(v, b2s), tf.mul(tf.square(g), c2s))
      const nuHat = tf.div(nu, correction2)
      const root = tf.sqrt(epsRoot === 0 ? nuHat : tf.add(nuHat, tf.scalar(epsRoot)))
      return [mu, nu, tf.div(tf.div(mu, correction1), tf.add(root, epsScalar))]
    }
  }
  const transform: GradientTransform<AdamState> = {
    init: (params) => ({
      count: 0,
      mu: mapParams(params, (p) => tf.zerosLike(p)),
      nu: mapParams(params, (p) => tf.zerosLike(p)),
    }),
    update: (updates, state, _params, ctx) => {
      const count = state.count + 1
      const attrs = attrsAt(count)
      const opByOp = opByOpFor(attrs)
      const kernel = fused && epsRoot === 0 ? ctx?.kernels?.adam : undefined
      const [mu, nu, out] = zipParamsMany([updates, state.mu, state.nu], 3, (leaves) => {
        const [g, m, v] = leaves as [tf.Tensor, tf.Tensor, tf.Tensor]
        return kernel?.(g, m, v, attrs) ?? opByOp(g, m, v)
      }) as [typeof updates, typeof updates, typeof updates]
      return [out, { count, mu, nu }]
    },
  }
  const step: AdamCore['step'] = (updates, state, params, scale, ctx) => {
    const kernel = fused && epsRoot === 0 ? ctx?.kernels?.adamStep : undefined
    if (kernel === undefined) return undefined
    const count = state.count + 1
    const attrs = { ...attrsAt(count), scale }
    const opByOp = opByOpFor(attrs)
    let factor: tf.Scalar | undefined
    const [mu, nu, next] = zipParamsMany([updates, state.mu, state.nu, params], 3, (leaves) => {
      const [g, m, v, p] = leaves as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
      const done = kernel(g, m, v, p, attrs)
      if (done !== undefined) return done
      // A leaf the kernel declines: the ops of `update`, `scaleByLearningRate` and `applyUpdates`.
      const [m2, v2, u] = opByOp(g, m, v)
      factor ??= tf.scalar(scale)
      return [m2, v2, tf.add(p, tf.mul(u, factor))]
    }) as [Params, Params, Params]
    return [next, { count, mu, nu }]
  }
  return { transform, step }
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
 * const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.scaleByAdam({ b2: 0.98 }), optim.scaleByLearningRate(3e-4))
 */
export const scaleByAdam = (options: AdamOptions = {}): GradientTransform<AdamState> => adamCore(options).transform
