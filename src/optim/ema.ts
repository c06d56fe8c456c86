import * as tf from '@tensorflow/tfjs-core'
import { flattenParams, mapParams, unflattenParams, zipParams } from '../tree/tree.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireConfig, requireDecayRate } from './validate.js'

/**
 * `ema`'s settings (Optax `ema(decay, debias)`), and whether the loop evaluates with the average.
 *
 * @example
 * const options: optim.EmaOptions = { decay: 0.999, debias: true, evaluate: true }
 * const optimizer = optim.chain(optim.adam({ lr: 1e-3 }), optim.ema(options))
 */
export interface EmaOptions {
  /** Weight of the previous average, in [0, 1) (0.999: the last ~1000 steps count). */
  readonly decay: number
  /** Divide by `1 - decay^count` (Optax's default, true): the average starts at zero, so early values need it. */
  readonly debias?: boolean
  /**
   * Validation inside `fit` runs with the averaged weights instead of the trained ones (default
   * true), as Lightning's `EMAWeightAveraging` callback swaps them in. Training always continues
   * from the trained weights.
   */
  readonly evaluate?: boolean
}

/**
 * `ema`'s memory: the (not yet debiased) average of the parameters after each step, the steps it
 * has seen, and its settings (so `averagedParams` can read it from any optimizer state, a restored
 * checkpoint's included).
 *
 * @example
 * const average = optim.ema(0.99)
 * const emaState: optim.EmaState = average.init(params) // { emaCount: 0, ema: zeros, emaDecay: 0.99, emaDebias: true, emaEvaluate: true }
 */
export type EmaState = {
  readonly emaCount: number
  readonly ema: Params
  readonly emaDecay: number
  readonly emaDebias: boolean
  readonly emaEvaluate: boolean
}

/**
 * An exponential moving average of the parameters, kept in optimizer state (Optax's `ema`
 * applied to the parameters, as Flax users do; PyTorch's `AveragedModel` with an EMA rule):
 *
 *     ema = decay ema + (1 - decay) (params + updates)        count = count + 1
 *
 * Put it last in the chain, where the updates are final, so `params + updates` is the step's new
 * parameters (the same `tf.add` as `applyUpdates`, so the average sees bitwise those). The updates
 * pass through unchanged: training is exactly what it is without it. Being optimizer state, the
 * average is saved in every checkpoint and restored on resume; `optim.averagedParams` reads it.
 *
 * @example
 * const optimizer = optim.chain(optim.adam({ lr: 1e-3 }), optim.ema({ decay: 0.999 }))
 * // validation in fit uses the averaged weights; after fit, from its final (or a checkpoint's) state:
 * const weights = optim.averagedParams(state.optState, state.params) // debiased average, by path
 */
export const ema = (options: number | EmaOptions): GradientTransform<EmaState> => {
  const o: EmaOptions = typeof options === 'number' ? { decay: options } : options
  requireDecayRate('ema', 'decay', o.decay)
  requireConfig(o.debias === undefined || typeof o.debias === 'boolean', 'ema', 'debias', o.debias, 'a boolean')
  const decay = o.decay
  const debias = o.debias ?? true
  const evaluate = o.evaluate ?? true
  return {
    init: (params) => ({ emaCount: 0, ema: mapParams(params, (p) => tf.zerosLike(p)), emaDecay: decay, emaDebias: debias, emaEvaluate: evaluate }),
    update: (updates, state, params) => {
      const d = tf.scalar(decay)
      const rest = tf.scalar(1 - decay)
      const next = zipParams(params, updates, (p, u) => tf.add(p, u))
      const average = zipParams(state.ema, next, (e, x) => tf.add(tf.mul(e, d), tf.mul(x, rest)))
      return [updates, { ...state, emaCount: state.emaCount + 1, ema: average }]
    },
  }
}

const isEmaState = (v: StateTree): v is EmaState =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof tf.Tensor) && typeof (v as { emaCount?: unknown }).emaCount === 'number' && 'ema' in v && 'emaDecay' in v

/** Every `ema` state inside an optimizer state (a chain's tuple, a group's record, a wrapper's `inner`). */
const emaStatesIn = (state: StateTree): EmaState[] => {
  if (state === null || typeof state !== 'object' || state instanceof tf.Tensor) return []
  if (isEmaState(state)) return [state]
  const children: readonly StateTree[] = Array.isArray(state) ? state : Object.values(state as { readonly [k: string]: StateTree })
  return children.flatMap(emaStatesIn)
}

/**
 * The weights to evaluate or export with: `params`, with every leaf that an `ema` in `optState`
 * averages replaced by its (debiased) average. Leaves no `ema` covers (outside its group) keep
 * their trained values; before the first step, and without an `ema`, it returns `undefined`.
 * With `evaluating: true` only the averages declared with `evaluate` count (what `fit`'s
 * validation uses). The result's tensors are new: the caller disposes them.
 *
 * @example
 * const optimizer = optim.chain(optim.sgd({ lr: 0.1 }), optim.ema(0.99))
 * const weights = optim.averagedParams(state.optState, state.params) // e.g. of a loaded checkpoint's state
 */
export const averagedParams = <P extends Params>(optState: StateTree, params: P, evaluating = false): P | undefined => {
  const states = emaStatesIn(optState).filter((s) => s.emaCount > 0 && (!evaluating || s.emaEvaluate))
  if (states.length === 0) return undefined
  const averaged = new Map<string, tf.Tensor>()
  for (const s of states) {
    const correction = s.emaDebias ? tf.scalar(1 - Math.pow(s.emaDecay, s.emaCount)) : undefined
    for (const { path, tensor } of flattenParams(s.ema)) averaged.set(path, correction === undefined ? tf.clone(tensor) : tf.div(tensor, correction))
    correction?.dispose()
  }
  return unflattenParams(
    params,
    flattenParams(params).map(({ path, tensor }) => averaged.get(path) ?? tf.clone(tensor)),
  )
}
