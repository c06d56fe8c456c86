import * as tf from '@tensorflow/tfjs-core'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireInteger } from './validate.js'

/**
 * The accumulator's memory: calls since the last inner step, the running sum, the inner state.
 *
 * @example
 * const optimizer = optim.accumulateGradients(4, optim.sgd({ lr: 0.1 }))
 * const window: optim.AccumulateState<StateTree> = optimizer.init(params) // { miniStep: 0, sum: zeros, inner }
 */
export type AccumulateState<S extends StateTree> = {
  /** Calls since the last inner update, in [0, k). */
  readonly miniStep: number
  /** Sum of the updates received since the last inner update. */
  readonly sum: Params
  readonly inner: S
}

/**
 * Gradient accumulation inside the optimizer (Optax `MultiSteps`): the first `k - 1` of every
 * `k` calls add their updates to a running sum and return zero updates; the `k`-th call passes
 * the mean of the `k` updates to `inner` and returns its result. So `k` micro-batches of size
 * `b` give the same step as one batch of size `k b` (for a loss averaged over the batch). The
 * inner state, its counter and its schedules advance once per `k` calls.
 *
 * @example
 * const optimizer = optim.accumulateGradients(4, optim.adam({ lr: 1e-3 })) // an Adam step every 4 batches
 */
export const accumulateGradients = <S extends StateTree>(
  k: number,
  inner: GradientTransform<S>,
): GradientTransform<AccumulateState<S>> => {
  requireInteger('accumulateGradients', 'k', k, 1)
  const { observe, hyperparams } = inner
  const zeros = (tree: Params): Params => mapParams(tree, (t) => tf.zerosLike(t))
  return {
    init: (params) => ({ miniStep: 0, sum: zeros(params), inner: inner.init(params) }),
    update: (updates, state, params, ctx) => {
      const sum = zipParams(updates, state.sum, (g, acc) => tf.add(acc, g))
      if (state.miniStep + 1 < k) return [zeros(updates), { miniStep: state.miniStep + 1, sum, inner: state.inner }]
      const count = tf.scalar(k)
      const mean = mapParams(sum, (t) => tf.div(t, count))
      const [out, next] = inner.update(mean, state.inner, params, ctx)
      return [out, { miniStep: 0, sum: zeros(sum), inner: next }]
    },
    ...(observe !== undefined && {
      observe: (state: AccumulateState<S>, metrics: Readonly<Record<string, number>>) => ({
        ...state,
        inner: observe.call(inner, state.inner, metrics),
      }),
    }),
    ...(hyperparams !== undefined && {
      hyperparams: (state: AccumulateState<S>) => hyperparams.call(inner, state.inner),
    }),
    ...(inner.guardsNonFinite === true && { guardsNonFinite: true }),
    ...(inner.groups !== undefined && { groups: inner.groups }),
  }
}
