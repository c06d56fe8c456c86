import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireConfig, requireInteger, requireNonNegative } from './validate.js'

/**
 * Lightning `StochasticWeightAveraging`'s options, with its names and defaults (`swaEpochStart`
 * is an epoch; Lightning's fraction of `max_epochs` is `Math.floor(fraction * maxEpochs)`).
 *
 * @example
 * const options: optim.StochasticWeightAveragingOptions = { swaLrs: 0.01, swaEpochStart: 8, annealingEpochs: 2, annealingStrategy: 'linear' }
 * const optimizer = stochasticWeightAveraging(options, optim.sgd({ lr: 0.1, momentum: 0.9 }))
 */
export interface StochasticWeightAveragingOptions {
  /** The learning rate the annealing ends at (and stays at). */
  readonly swaLrs: number
  /** The first epoch (from 0) whose end weights are averaged, and whose start begins the annealing. */
  readonly swaEpochStart: number
  /** Epochs the annealing takes. Default 10. */
  readonly annealingEpochs?: number
  /** The annealing's shape. Default `'cos'`. */
  readonly annealingStrategy?: 'cos' | 'linear'
}

/**
 * SWA's memory: the epoch (counted at each epoch's end, so restored with the checkpoint), the
 * learning rate when SWA began, the running average of the epoch-end weights and how many it
 * holds (`null` before `swaEpochStart`), whether the last epoch's end weights still wait to be
 * added (they are the next update's parameters), and the inner optimizer's state.
 *
 * @example
 * const optimizer = stochasticWeightAveraging({ swaLrs: 0.01, swaEpochStart: 3 }, optim.sgd({ lr: 0.1 }))
 * const swaState: optim.SwaState<StateTree> = optimizer.init(params) // { epoch: 0, swaStartLr: null, swaCount: 0, swaAverage: null, swaPending: false, inner }
 */
export type SwaState<S extends StateTree> = {
  readonly epoch: number
  readonly swaStartLr: number | null
  readonly swaCount: number
  readonly swaAverage: Params | null
  readonly swaPending: boolean
  readonly inner: S
}

/** PyTorch `SWALR`'s annealing factor at `t` in [0, 1]. */
const anneal = (strategy: 'cos' | 'linear', t: number): number => (strategy === 'cos' ? (1 - Math.cos(Math.PI * t)) / 2 : t)

/**
 * Lightning's `StochasticWeightAveraging` (Izmailov et al.): from epoch `swaEpochStart` on, the
 * learning rate anneals from its value then to `swaLrs` over `annealingEpochs` (PyTorch's
 * `SWALR`, once an epoch, `cos` or `linear`) and the weights at the end of each epoch are averaged
 * (an equal-weight running mean, as `AveragedModel`). `swaModel` gives the averaged model after
 * `fit`, with the batch-norm statistics recomputed by one pass over the training data (Lightning's
 * extra epoch, PyTorch's `update_bn`).
 *
 * In rxtrain hooks do not reach back into the loop, so SWA wraps the module's optimizer: the
 * annealed rate scales its updates (`lr_e / lr` of the inner optimizer, which must report `lr`),
 * and the epoch comes from the loop's once-an-epoch `observe` call. Everything is optimizer state,
 * so a resumed run continues exactly. An epoch's end weights are added with the next epoch's first
 * update (they are its parameters), the last epoch's when the model is read (`optim.swaParams`).
 *
 * @example
 * // the module's optimizer; after fit, `swaModel(module, train, finalState, backend)` gives the averaged model
 * const optimizer = stochasticWeightAveraging({ swaLrs: 0.02, swaEpochStart: 6 }, optim.sgd({ lr: 0.1 }))
 */
export const stochasticWeightAveraging = <S extends StateTree>(
  options: StochasticWeightAveragingOptions,
  inner: GradientTransform<S>,
): GradientTransform<SwaState<S>> => {
  const { swaLrs, swaEpochStart } = options
  const annealingEpochs = options.annealingEpochs ?? 10
  const strategy = options.annealingStrategy ?? 'cos'
  requireNonNegative('stochasticWeightAveraging', 'swaLrs', swaLrs)
  requireInteger('stochasticWeightAveraging', 'swaEpochStart', swaEpochStart, 0)
  requireInteger('stochasticWeightAveraging', 'annealingEpochs', annealingEpochs, 0)
  requireConfig(strategy === 'cos' || strategy === 'linear', 'stochasticWeightAveraging', 'annealingStrategy', strategy, "'cos' or 'linear'")
  const lrOf = (state: S): number => {
    const lr = inner.hyperparams?.(state).lr
    if (lr === undefined)
      throw rxtrainError(
        'ConfigError',
        'stochasticWeightAveraging: the optimizer it wraps does not report a learning rate',
        'wrap an optimizer with an lr (optim.sgd, optim.adam, ..., or a chain ending in scaleByLearningRate).',
        { builder: 'stochasticWeightAveraging' },
      )
    return lr
  }
  /** SWALR's rate in epoch `epoch`, from the rate `start` it found at `swaEpochStart`. */
  const lrAt = (epoch: number, start: number): number => {
    const t = Math.max(0, Math.min(1, (epoch - swaEpochStart) / Math.max(1, annealingEpochs)))
    const alpha = annealingEpochs === 0 ? 1 : anneal(strategy, t)
    return swaLrs * alpha + start * (1 - alpha)
  }
  return {
    init: (params) => {
      const innerState = inner.init(params)
      lrOf(innerState)
      return { epoch: 0, swaStartLr: null, swaCount: 0, swaAverage: null, swaPending: false, inner: innerState }
    },
    update: (updates, state, params, ctx) => {
      const [u, next] = inner.update(updates, state.inner, params, ctx)
      const averaged = state.swaPending ? addToAverage(state.swaAverage, state.swaCount, params) : state.swaAverage
      const swaCount = state.swaPending ? state.swaCount + 1 : state.swaCount
      if (state.epoch < swaEpochStart) return [u, { ...state, swaAverage: averaged, swaCount, swaPending: false, inner: next }]
      const current = lrOf(state.inner)
      const swaStartLr = state.swaStartLr ?? current
      const factor = current === 0 ? 0 : lrAt(state.epoch, swaStartLr) / current
      const scale = tf.scalar(factor)
      return [mapParams(u, (t) => tf.mul(t, scale)), { epoch: state.epoch, swaStartLr, swaCount, swaAverage: averaged, swaPending: false, inner: next }]
    },
    observe: (state, metrics) => ({
      ...state,
      epoch: state.epoch + 1,
      swaPending: state.epoch >= swaEpochStart,
      inner: inner.observe === undefined ? state.inner : inner.observe(state.inner, metrics),
    }),
    hyperparams: (state) => {
      const own = inner.hyperparams?.(state.inner) ?? {}
      return state.epoch < swaEpochStart ? own : { ...own, lr: lrAt(state.epoch, state.swaStartLr ?? lrOf(state.inner)) }
    },
    ...(inner.guardsNonFinite === true && { guardsNonFinite: true }),
  }
}

/** The running mean with one more member: `avg + (x - avg) / (n + 1)` (the first member is itself). */
const addToAverage = (average: Params | null, count: number, x: Params): Params => {
  if (average === null || count === 0) return mapParams(x, (t) => tf.clone(t))
  const n = tf.scalar(count + 1)
  return zipParams(average, x, (a, v) => tf.add(a, tf.div(tf.sub(v, a), n)))
}

const isSwaState = (v: StateTree): v is SwaState<StateTree> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof tf.Tensor) && 'swaAverage' in v && 'swaPending' in v

const swaStateIn = (state: StateTree): SwaState<StateTree> | undefined => {
  if (state === null || typeof state !== 'object' || state instanceof tf.Tensor) return undefined
  if (isSwaState(state)) return state
  const children: readonly StateTree[] = Array.isArray(state) ? state : Object.values(state as { readonly [k: string]: StateTree })
  for (const child of children) {
    const found = swaStateIn(child)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The SWA weights of a run: the average of its epoch-end weights from `swaEpochStart` on, with
 * `params` (the weights at the end of the last epoch) added if they are not yet. `undefined`
 * before any epoch was averaged or without `stochasticWeightAveraging` in the optimizer. The
 * tensors are new: the caller disposes them.
 *
 * @example
 * const weights = tidy(() => optim.swaParams(state.optState, state.params)) // undefined if SWA never started
 */
export const swaParams = <P extends Params>(optState: StateTree, params: P): P | undefined => {
  const swa = swaStateIn(optState)
  if (swa === undefined) return undefined
  if (swa.swaPending) return addToAverage(swa.swaAverage, swa.swaCount, params) as P
  return swa.swaAverage === null ? undefined : (mapParams(swa.swaAverage, (t) => tf.clone(t)) as P)
}
