import type { Schedule } from './transform.js'
import { cosineDecay, joinSchedules, linearSchedule } from './schedules.js'
import { requireConfig, requireFinite, requireInteger, requirePositive } from './validate.js'

/**
 * `warmupCosineDecay`'s options (Optax `warmup_cosine_decay_schedule`).
 *
 * @example
 * const options: optim.WarmupCosineOptions = { peak: 3e-4, warmupSteps: 500, decaySteps: 10_000, end: 3e-5 }
 * const optimizer = optim.adamw({ lr: optim.warmupCosineDecay(options) })
 */
export interface WarmupCosineOptions {
  /** Value at step 0. Default 0. */
  readonly init?: number
  /** Value at the end of the warm-up. */
  readonly peak: number
  /** Length of the linear warm-up, in steps. */
  readonly warmupSteps: number
  /** Total length, warm-up included (as in Optax); must exceed `warmupSteps`. */
  readonly decaySteps: number
  /** Value from step `decaySteps` on. Default 0. */
  readonly end?: number
}

/**
 * Linear warm-up from `init` to `peak` over `warmupSteps`, then half a cosine from `peak` down to
 * `end`, reached at step `decaySteps` (the total, warm-up included), then constant.
 *
 * @example
 * const lr = optim.warmupCosineDecay({ peak: 1e-3, warmupSteps: 100, decaySteps: 1100 })
 * lr(100) // 1e-3 (peak)      lr(600) // 5e-4 (half-way down)      lr(1100) // 0
 */
export const warmupCosineDecay = (options: WarmupCosineOptions): Schedule => {
  const { init = 0, peak, warmupSteps, decaySteps, end = 0 } = options
  const where = 'warmupCosineDecay'
  requireFinite(where, 'init', init)
  requireFinite(where, 'peak', peak)
  requireFinite(where, 'end', end)
  requireInteger(where, 'warmupSteps', warmupSteps, 0)
  requireConfig(
    Number.isInteger(decaySteps) && decaySteps > warmupSteps,
    where,
    'decaySteps',
    decaySteps,
    `an integer > warmupSteps (${warmupSteps}); it is the total length, warm-up included`,
  )
  const decay = cosineDecay({ init: 1, decaySteps: decaySteps - warmupSteps })
  return joinSchedules(
    [linearSchedule({ from: init, to: peak, steps: warmupSteps }), (step) => end + (peak - end) * decay(step)],
    [warmupSteps],
  )
}

/**
 * `oneCycle`'s options: PyTorch `OneCycleLR`'s, in camelCase.
 *
 * @example
 * const optimizerFor = (plan: LoopPlan) => {
 *   const options: optim.OneCycleOptions = { maxLr: 0.1, totalSteps: plan.estimatedSteppingBatches }
 *   return optim.sgd({ lr: optim.oneCycle(options), momentum: 0.9 })
 * } // a module's `optimizer`, sized by the loop plan
 */
export interface OneCycleOptions {
  /** The peak value. */
  readonly maxLr: number
  /** Steps in the cycle (PyTorch `total_steps`). */
  readonly totalSteps: number
  /** Fraction of the cycle spent rising. Default 0.3. */
  readonly pctStart?: number
  /** Start value is `maxLr / divFactor`. Default 25. */
  readonly divFactor?: number
  /** End value is `maxLr / divFactor / finalDivFactor`. Default 1e4. */
  readonly finalDivFactor?: number
}

/** PyTorch's `_annealing_cos`: from `start` (pct 0) to `end` (pct 1) along half a cosine. */
const annealCos = (start: number, end: number, pct: number): number =>
  end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)

/**
 * The 1cycle policy (Smith & Topin 2017) exactly as PyTorch `OneCycleLR` with cosine annealing
 * and two phases: from `maxLr / divFactor` up to `maxLr` at step `pctStart * totalSteps - 1`, then
 * down to `maxLr / (divFactor * finalDivFactor)` at step `totalSteps - 1`. The value at step `n`
 * is PyTorch's learning rate for the `(n + 1)`-th optimizer step. Past the last step it stays at
 * the final value (PyTorch raises instead).
 *
 * @example
 * const lr = optim.oneCycle({ maxLr: 0.1, totalSteps: 101, pctStart: 0.5 })
 * lr(0) // 0.004      lr(49.5) // 0.1 (peak)      lr(100) // 4e-7
 */
export const oneCycle = (options: OneCycleOptions): Schedule => {
  const { maxLr, totalSteps, pctStart = 0.3, divFactor = 25, finalDivFactor = 1e4 } = options
  const where = 'oneCycle'
  requirePositive(where, 'maxLr', maxLr)
  requireInteger(where, 'totalSteps', totalSteps, 1)
  requireConfig(Number.isFinite(pctStart) && pctStart >= 0 && pctStart <= 1, where, 'pctStart', pctStart, 'in [0, 1]')
  requirePositive(where, 'divFactor', divFactor)
  requirePositive(where, 'finalDivFactor', finalDivFactor)
  const initialLr = maxLr / divFactor
  const minLr = initialLr / finalDivFactor
  const peakStep = pctStart * totalSteps - 1
  const lastStep = totalSteps - 1
  return (step) => {
    const n = Math.min(step, lastStep)
    if (n <= peakStep) return annealCos(initialLr, maxLr, peakStep <= 0 ? 1 : n / peakStep)
    const span = lastStep - peakStep
    return annealCos(maxLr, minLr, span <= 0 ? 1 : (n - peakStep) / span)
  }
}
