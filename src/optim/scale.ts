import * as tf from '@tensorflow/tfjs-core'
import { mapParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { EmptyState } from './identity.js'
import { asSchedule } from './transform.js'
import type { GradientTransform, ScalarOrSchedule, Schedule } from './transform.js'
import { requireConfig, requireFinite, requireNonNegative } from './validate.js'

/**
 * The state of a scheduled transform: the number of updates it has made so far.
 *
 * @example
 * const descent = optim.scaleByLearningRate(optim.cosineDecay({ init: 0.1, decaySteps: 1000 }))
 * const counter: optim.CountState = descent.init(params) // { count: 0 }; each update adds 1
 * descent.hyperparams?.(counter)                       // { lr: 0.1 }
 */
export type CountState = { readonly count: number }

/** Every leaf times `factor` (one shared scalar tensor, new result tensors). */
const scaleLeaves = (updates: Params, factor: number): Params => {
  const s = tf.scalar(factor)
  return mapParams(updates, (t) => tf.mul(t, s))
}

/**
 * Multiplies every update by a constant `factor` (must be finite).
 *
 * @example
 * const optimizer = optim.chain(optim.scaleByAdam(), optim.scale(-1e-3)) // Adam with a fixed learning rate of 1e-3
 */
export const scale = (factor: number): GradientTransform<EmptyState> => {
  requireFinite('scale', 'factor', factor)
  return {
    init: () => null,
    update: (updates, state) => [scaleLeaves(updates, factor), state],
  }
}

/**
 * Multiplies the updates by `schedule(count)`, where `count` is the number of updates made
 * before this one (so the first update uses `schedule(0)`). The count lives in the state as a
 * plain number.
 *
 * @example
 * const optimizer = optim.chain(optim.scaleByAdam(), optim.scaleBySchedule((step) => -1e-3 * 0.99 ** step))
 */
export const scaleBySchedule = (schedule: Schedule): GradientTransform<CountState> => ({
  init: () => ({ count: 0 }),
  update: (updates, state) => [scaleLeaves(updates, schedule(state.count)), { count: state.count + 1 }],
})

/**
 * The descent step: multiplies the updates by `-lr(count)`, with `lr` a constant or a schedule of
 * the optimizer step. It reports `hyperparams(state) → { lr }`, the learning rate the *next*
 * update will use, for loggers and learning-rate monitors. A constant `lr` must be finite and
 * `>= 0`; a schedule is the caller's to keep sensible.
 *
 * @example
 * const optimizer = optim.chain(optim.scaleByAdam(), optim.scaleByLearningRate(optim.cosineDecay({ init: 1e-3, decaySteps: 1000 })))
 * optimizer.hyperparams?.(optimizer.init(params)) // { lr: 0.001 }
 */
export const scaleByLearningRate = (lr: ScalarOrSchedule): GradientTransform<CountState> => {
  if (typeof lr === 'number') requireNonNegative('scaleByLearningRate', 'lr', lr)
  else requireConfig(typeof lr === 'function', 'scaleByLearningRate', 'lr', lr, 'a number or a schedule function')
  const schedule = asSchedule(lr)
  return {
    init: () => ({ count: 0 }),
    update: (updates, state) => [scaleLeaves(updates, -schedule(state.count)), { count: state.count + 1 }],
    hyperparams: (state) => ({ lr: schedule(state.count) }),
  }
}
