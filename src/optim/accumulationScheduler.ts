import * as tf from '@tensorflow/tfjs-core'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireConfig } from './validate.js'

/**
 * The accumulation scheduler's memory: the epoch it is in (counted at each epoch's end, so it is
 * restored with the checkpoint), the open window (batches and their summed updates), and the inner
 * optimizer's state.
 *
 * @example
 * const optimizer = gradientAccumulationScheduler({ 0: 1, 2: 4 }, optim.adam({ lr: 1e-3 }))
 * const windowState: optim.AccumulationSchedulerState<StateTree> = optimizer.init(params) // { epoch: 0, miniStep: 0, windowK: 1, cutShort: false, sum: zeros, inner }
 */
export type AccumulationSchedulerState<S extends StateTree> = {
  readonly epoch: number
  /** Batches in the open window. */
  readonly miniStep: number
  /** The window's size (the scheduled k of the epoch it opened in). */
  readonly windowK: number
  /** The open window was cut short by its epoch's end: it steps with the next update. */
  readonly cutShort: boolean
  readonly sum: Params
  readonly inner: S
}

/** The k of `epoch`: the value of the largest scheduled epoch at or before it (1 before the first). */
const kAt = (points: readonly (readonly [number, number])[], epoch: number): number =>
  points.reduce((k, [from, value]) => (from <= epoch ? value : k), 1)

/**
 * Lightning's `GradientAccumulationScheduler`: `scheduling` maps an epoch (from 0) to the number
 * of batches whose gradients make one step from that epoch on, e.g. `{ 0: 8, 4: 4, 8: 1 }`. Each
 * window's step gets the sum of its batches' updates divided by its k (Lightning divides each loss
 * by `accumulate_grad_batches`), so k batches of size b step as one batch of size k b.
 *
 * In rxtrain the loop's own `accumulateGradBatches` is one number per run and hooks do not reach
 * back into the loop, so this scheduler lives in the optimizer: wrap the module's optimizer in it
 * (keep `accumulateGradBatches: 1`). It learns the epoch from the loop's once-an-epoch `observe`
 * call, so its state (epoch, open window, inner state) is saved in checkpoints and a resumed run
 * continues exactly. Differences from Lightning: `globalStep` counts batches (the loop steps on
 * every batch; the zero updates of a window's other batches change nothing), and a window that
 * an epoch's end cuts short is stepped with the next epoch's first batch (with the parameters it
 * would have had at the epoch's last batch, so the values match; the last epoch's is dropped;
 * when that first batch closes a window of its own too (k = 1), both steps' updates are applied
 * as one sum, equal up to float rounding). Learning-rate schedules inside count windows.
 *
 * @example
 * // the module's optimizer: 4-batch steps in epochs 0-1, 2-batch steps after
 * const optimizer = gradientAccumulationScheduler({ 0: 4, 2: 2 }, optim.adam({ lr: 1e-3 }))
 */
export const gradientAccumulationScheduler = <S extends StateTree>(
  scheduling: Readonly<Record<number, number>>,
  inner: GradientTransform<S>,
): GradientTransform<AccumulationSchedulerState<S>> => {
  const points = Object.entries(scheduling)
    .map(([e, k]) => [Number(e), k] as const)
    .sort((a, b) => a[0] - b[0])
  for (const [epoch, k] of points) {
    requireConfig(Number.isInteger(epoch) && epoch >= 0, 'gradientAccumulationScheduler', `scheduling key ${epoch}`, epoch, 'an epoch: an integer >= 0')
    requireConfig(Number.isInteger(k) && k >= 1, 'gradientAccumulationScheduler', `scheduling[${epoch}]`, k, 'an integer >= 1')
  }
  requireConfig(points.length > 0, 'gradientAccumulationScheduler', 'scheduling', '{}', 'at least one { epoch: k } entry')
  const zeros = (tree: Params): Params => mapParams(tree, (t) => tf.zerosLike(t))
  const { observe, hyperparams } = inner
  /** One inner step on a window's summed updates. */
  const stepOn = (sum: Params, k: number, state: S, params: Params, ctx: Parameters<GradientTransform['update']>[3]) => {
    const count = tf.scalar(k)
    return inner.update(mapParams(sum, (t) => tf.div(t, count)), state, params, ctx)
  }
  return {
    init: (params) => ({ epoch: 0, miniStep: 0, windowK: kAt(points, 0), cutShort: false, sum: zeros(params), inner: inner.init(params) }),
    update: (updates, state, params, ctx) => {
      const k = kAt(points, state.epoch)
      let innerState = state.inner
      let flushed: Params | undefined
      let sum = state.sum
      let miniStep = state.miniStep
      if (state.cutShort && miniStep > 0) {
        // A window the last epoch's end cut short: its step, with the parameters of that epoch's last batch.
        const [u, s] = stepOn(sum, state.windowK, innerState, params, ctx)
        flushed = u
        innerState = s
        sum = zeros(sum)
        miniStep = 0
      }
      sum = zipParams(updates, sum, (g, acc) => tf.add(acc, g))
      if (miniStep + 1 < k) {
        const out = flushed ?? zeros(updates)
        return [out, { epoch: state.epoch, miniStep: miniStep + 1, windowK: k, cutShort: false, sum, inner: innerState }]
      }
      // The window is full: step (after a flushed one, on the parameters that step made).
      const stepParams = flushed === undefined ? params : zipParams(params, flushed, (p, u) => tf.add(p, u))
      const [u, s] = stepOn(sum, k, innerState, stepParams, ctx)
      const out = flushed === undefined ? u : zipParams(flushed, u, (a, b) => tf.add(a, b))
      return [out, { epoch: state.epoch, miniStep: 0, windowK: k, cutShort: false, sum: zeros(sum), inner: s }]
    },
    observe: (state, metrics) => {
      // A window open at the epoch's end keeps its k (windowK) and steps with the next update.
      const innerNext = observe === undefined ? state.inner : observe.call(inner, state.inner, metrics)
      return { ...state, epoch: state.epoch + 1, cutShort: state.miniStep > 0, inner: innerNext }
    },
    ...(hyperparams !== undefined && {
      hyperparams: (state: AccumulationSchedulerState<S>) => hyperparams.call(inner, state.inner),
    }),
    ...(inner.guardsNonFinite === true && { guardsNonFinite: true }),
  }
}
