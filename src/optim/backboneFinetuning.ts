import * as tf from '@tensorflow/tfjs-core'
import { mapParams } from '../tree/tree.js'
import type { StateTree } from '../tree/tree.js'
import { freeze, type LeafPredicate, multiTransform, type MultiTransformState } from './multiTransform.js'
import type { GradientTransform } from './transform.js'
import { isFiniteNumber, requireConfig, requireInteger, requirePositive } from './validate.js'

/**
 * Lightning `BackboneFinetuning`'s options, with its names and defaults, plus what rxtrain needs
 * to know explicitly: which leaves are the backbone, and the optimizer.
 *
 * @example
 * const options: optim.BackboneFinetuningOptions = {
 *   backbone: (path) => path.startsWith('backbone/'),
 *   optimizer: optim.adam({ lr: 1e-3 }),
 *   unfreezeBackboneAtEpoch: 5,
 *   backboneInitialRatioLr: 0.1,
 *   lambdaFunc: () => 1.5,
 * }
 */
export interface BackboneFinetuningOptions {
  /** The backbone's leaves, by path (e.g. `(path) => path.startsWith('backbone/')`); the others are the head. */
  readonly backbone: LeafPredicate
  /** The optimizer: the head's, and (with its own state, from the unfreeze on) the backbone's. */
  readonly optimizer: GradientTransform
  /** The epoch (from 0) whose first step trains the backbone. Default 10. */
  readonly unfreezeBackboneAtEpoch?: number
  /** The backbone's learning rate at the unfreeze, as a fraction of the head's. Default 0.1. */
  readonly backboneInitialRatioLr?: number
  /** The factor of the backbone's rate from one epoch to the next, of the epoch (Lightning calls it with `epoch + 1`). Default `() => 1.5`. */
  readonly lambdaFunc?: (epoch: number) => number
  /** Never let the backbone's rate exceed the head's. Default true. */
  readonly shouldAlign?: boolean
}

/**
 * The backbone group's memory: the epoch (counted at each epoch's end, so restored with the
 * checkpoint), its learning-rate ratio to the head's, and the optimizer's state for the backbone,
 * `null` while frozen (no moments are allocated for frozen leaves).
 *
 * @example
 * const optimizer = backboneFinetuning({ backbone: (path) => path.startsWith('backbone/'), optimizer: optim.sgd({ lr: 0.1 }) })
 * const groups = optimizer.init(params)
 * const backboneState = groups.backbone as optim.BackboneState // { epoch: 0, ratio: 0, inner: null }
 */
export type BackboneState = { readonly epoch: number; readonly ratio: number; readonly inner: StateTree }

/**
 * Lightning's `BackboneFinetuning`: the backbone stays frozen (bitwise unchanged, no optimizer
 * state) until epoch `unfreezeBackboneAtEpoch`; from then on it trains with the optimizer (its own
 * state, allocated at the unfreeze) at `backboneInitialRatioLr` times the head's learning rate,
 * multiplied by `lambdaFunc(epoch + 1)` at each later epoch's start and, with `shouldAlign`, never
 * above the head's. The head trains from the start.
 *
 * rxtrain's hooks do not reach back into the loop, so fine-tuning is an optimizer, built from
 * `optim.multiTransform` and `optim.freeze`: the module's optimizer is this. It learns the epoch
 * from the loop's once-an-epoch `observe` call, so a run resumed across the unfreeze continues
 * exactly. The backbone's rate is a ratio of the head's (its updates are the optimizer's, scaled),
 * so with a scheduled head rate it follows the schedule; Lightning keeps an absolute rate, which
 * is the same for a constant head rate. Reports `head/lr` and `backbone/lr` for `lrMonitor`.
 *
 * @example
 * // the module's optimizer: the head trains from the start, the backbone from epoch 3 at 1e-4, then 1.5e-4 ...
 * const optimizer = backboneFinetuning({ backbone: (path) => path.startsWith('backbone/'), optimizer: optim.adam({ lr: 1e-3 }), unfreezeBackboneAtEpoch: 3 })
 */
export const backboneFinetuning = (options: BackboneFinetuningOptions): GradientTransform<MultiTransformState<'head' | 'backbone'>> => {
  const unfreezeAt = options.unfreezeBackboneAtEpoch ?? 10
  const initialRatio = options.backboneInitialRatioLr ?? 0.1
  const lambda = options.lambdaFunc ?? (() => 1.5)
  const align = options.shouldAlign ?? true
  requireInteger('backboneFinetuning', 'unfreezeBackboneAtEpoch', unfreezeAt, 0)
  requirePositive('backboneFinetuning', 'backboneInitialRatioLr', initialRatio)
  const inner = options.optimizer
  const ratioAt = (epoch: number, previous: number): number => {
    if (epoch < unfreezeAt) return 0
    if (epoch === unfreezeAt) return align ? Math.min(initialRatio, 1) : initialRatio
    const next = lambda(epoch + 1) * previous
    requireConfig(isFiniteNumber(next) && next >= 0, 'backboneFinetuning', `lambdaFunc(${epoch + 1})`, next, 'a finite factor >= 0')
    return align ? Math.min(next, 1) : next
  }
  const frozen = freeze()
  const backbone: GradientTransform<BackboneState> = {
    init: () => ({ epoch: 0, ratio: ratioAt(0, 0), inner: null }),
    update: (updates, state, params, ctx) => {
      if (state.epoch < unfreezeAt) {
        const [zeros] = frozen.update(updates, null, params, ctx)
        return [zeros, state]
      }
      const innerState = state.inner ?? inner.init(params)
      const [u, next] = inner.update(updates, innerState, params, ctx)
      const ratio = tf.scalar(state.ratio)
      return [mapParams(u, (t) => tf.mul(t, ratio)), { ...state, inner: next }]
    },
    observe: (state, metrics) => {
      const epoch = state.epoch + 1
      const innerNext = state.inner === null || inner.observe === undefined ? state.inner : inner.observe(state.inner, metrics)
      return { epoch, ratio: ratioAt(epoch, state.ratio), inner: innerNext }
    },
    hyperparams: (state) => {
      const lr = state.inner === null ? undefined : inner.hyperparams?.(state.inner).lr
      return { lr: lr === undefined ? 0 : lr * state.ratio }
    },
  }
  return multiTransform({ head: inner, backbone: backbone as GradientTransform }, (path, leaf) => (options.backbone(path, leaf) ? 'backbone' : 'head'))
}
