import type { Schedule } from './transform.js'
import { requireConfig, requireFinite, requireInteger, requirePositive } from './validate.js'

/**
 * A schedule that is `value` at every step.
 *
 * @example
 * optim.constantSchedule(0.1)(1000) // 0.1
 */
export const constantSchedule = (value: number): Schedule => {
  requireFinite('constantSchedule', 'value', value)
  return () => value
}

/**
 * PyTorch `StepLR`: `init * gamma ^ floor(step / stepSize)`, i.e. multiplied by `gamma` every
 * `stepSize` steps.
 *
 * @example
 * optim.stepDecay({ init: 0.1, stepSize: 30, gamma: 0.1 })(65) // 0.1 * 0.1² = 0.001
 */
export const stepDecay = (options: {
  readonly init: number
  readonly stepSize: number
  readonly gamma: number
}): Schedule => {
  const { init, stepSize, gamma } = options
  requireFinite('stepDecay', 'init', init)
  requireInteger('stepDecay', 'stepSize', stepSize, 1)
  requirePositive('stepDecay', 'gamma', gamma)
  return (step) => init * gamma ** Math.floor(step / stepSize)
}

/**
 * Optax `exponential_decay`: `init * decayRate ^ (step / transitionSteps)`, with the exponent
 * floored when `staircase` (default false), so the value is multiplied by `decayRate` every
 * `transitionSteps` steps.
 *
 * @example
 * optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10 })(5) // 0.5^0.5 ≈ 0.7071
 */
export const exponentialDecay = (options: {
  readonly init: number
  readonly decayRate: number
  readonly transitionSteps: number
  readonly staircase?: boolean
}): Schedule => {
  const { init, decayRate, transitionSteps, staircase = false } = options
  requireFinite('exponentialDecay', 'init', init)
  requirePositive('exponentialDecay', 'decayRate', decayRate)
  requirePositive('exponentialDecay', 'transitionSteps', transitionSteps)
  return (step) => {
    const p = step / transitionSteps
    return init * decayRate ** (staircase ? Math.floor(p) : p)
  }
}

/**
 * Optax `cosine_decay_schedule` (SGDR without restarts): from `init` down to `alpha * init` along
 * half a cosine over `decaySteps` steps, then constant:
 * `init * ((1 - alpha) * ½(1 + cos(π min(step, decaySteps) / decaySteps)) + alpha)`.
 *
 * @example
 * optim.cosineDecay({ init: 1, decaySteps: 100 })(50) // 0.5
 */
export const cosineDecay = (options: {
  readonly init: number
  readonly decaySteps: number
  readonly alpha?: number
}): Schedule => {
  const { init, decaySteps, alpha = 0 } = options
  requireFinite('cosineDecay', 'init', init)
  requireInteger('cosineDecay', 'decaySteps', decaySteps, 1)
  requireConfig(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1, 'cosineDecay', 'alpha', alpha, 'in [0, 1]')
  return (step) => {
    const cosine = 0.5 * (1 + Math.cos((Math.PI * Math.min(step, decaySteps)) / decaySteps))
    return init * ((1 - alpha) * cosine + alpha)
  }
}

/**
 * A straight line from `from` (at step 0) to `to` (at step `steps`), then constant: the usual
 * linear warm-up. With `steps = 0` it is `to` from the start (Optax returns the initial value).
 *
 * @example
 * optim.linearSchedule({ from: 0, to: 1e-3, steps: 100 })(25) // 2.5e-4
 */
export const linearSchedule = (options: {
  readonly from: number
  readonly to: number
  readonly steps: number
}): Schedule => {
  const { from, to, steps } = options
  requireFinite('linearSchedule', 'from', from)
  requireFinite('linearSchedule', 'to', to)
  requireInteger('linearSchedule', 'steps', steps, 0)
  return (step) => (steps === 0 ? to : from + ((to - from) * Math.min(Math.max(step, 0), steps)) / steps)
}

/**
 * Optax `join_schedules`: `schedules[i]` runs from `boundaries[i - 1]` (inclusive) to
 * `boundaries[i]`, and each schedule after the first sees the step counted from its own start
 * (`step - boundaries[i - 1]`). Needs one boundary fewer than schedules, in non-decreasing order.
 *
 * @example
 * const warmupThenDecay = optim.joinSchedules(
 *   [optim.linearSchedule({ from: 0, to: 0.1, steps: 100 }), optim.cosineDecay({ init: 0.1, decaySteps: 900 })],
 *   [100],
 * )
 */
export const joinSchedules = (schedules: readonly Schedule[], boundaries: readonly number[]): Schedule => {
  requireConfig(schedules.length >= 1, 'joinSchedules', 'schedules', schedules.length, 'a non-empty list')
  requireConfig(
    boundaries.length === schedules.length - 1,
    'joinSchedules',
    'boundaries',
    `${boundaries.length} boundaries for ${schedules.length} schedules`,
    'one boundary fewer than schedules',
  )
  requireConfig(
    boundaries.every((b, i) => Number.isFinite(b) && b >= 0 && (i === 0 || b >= (boundaries[i - 1] as number))),
    'joinSchedules',
    'boundaries',
    `[${boundaries.join(', ')}]`,
    'finite, >= 0 and non-decreasing',
  )
  return (step) => {
    let i = 0
    while (i < boundaries.length && step >= (boundaries[i] as number)) i++
    const start = i === 0 ? 0 : (boundaries[i - 1] as number)
    return (schedules[i] as Schedule)(step - start)
  }
}
