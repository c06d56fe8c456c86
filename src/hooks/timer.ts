import * as t from 'io-ts'
import type { MonoTypeOperatorFunction } from 'rxjs'
import { rxtrainError } from '../errors/rxtrainError.js'
import { hook } from '../flow/hook.js'
import { stop } from '../flow/hookEffect.js'
import type { FitEvent } from '../pipeline/events.js'

/** A duration as parts, like Python's `timedelta(days=..., hours=...)`. */
export interface Duration {
  readonly days?: number
  readonly hours?: number
  readonly minutes?: number
  readonly seconds?: number
}

/**
 * Lightning `Timer`'s options: a time budget for `fit`.
 *
 * @example
 * const options: TimerOptions = { maxTime: { hours: 1, minutes: 30 }, interval: 'epoch' }
 * fit(module, { train, val }, { maxEpochs: -1 }).pipe(timer(options)).subscribe()
 */
export interface TimerOptions {
  /** The training time budget: milliseconds, or `{ days, hours, minutes, seconds }`. */
  readonly maxTime: number | Duration
  /** Check after every training batch (`'step'`, default) or at each epoch end (`'epoch'`). */
  readonly interval?: 'step' | 'epoch'
}

/** What the timer keeps in a checkpoint: the training time spent so far. */
export interface TimerState {
  readonly elapsedMs: number
}

/**
 * The timer's state in a checkpoint: `{ elapsedMs }` and nothing else (`t.exact` leaves the
 * run's own fields out when it encodes).
 */
export const TimerStateCodec = t.exact(t.type({ elapsedMs: t.number }))

/** The state during a run: the time spent, and where this run's clock started counting. */
interface TimerRun extends TimerState {
  /** The `time` of this run's `fitStart` (undefined before it). */
  readonly start?: number
  /** The time spent before this run (restored from the checkpoint). */
  readonly offset?: number
  /** Whether this run has already asked to stop. */
  readonly requested?: boolean
}

/** Milliseconds of a budget; a `ConfigError` when it is not a non-negative finite duration. */
export const durationMs = (maxTime: number | Duration): number => {
  const ms =
    typeof maxTime === 'number'
      ? maxTime
      : (((maxTime.days ?? 0) * 24 + (maxTime.hours ?? 0)) * 60 + (maxTime.minutes ?? 0)) * 60_000 + (maxTime.seconds ?? 0) * 1000
  if (Number.isFinite(ms) && ms >= 0) return ms
  throw rxtrainError(
    'ConfigError',
    `timer: maxTime is ${JSON.stringify(maxTime)}`,
    'give maxTime as milliseconds or as { days, hours, minutes, seconds }, finite and not negative.',
    { field: 'maxTime' },
  )
}

const two = (n: number): string => String(n).padStart(2, '0')

/** `HH:MM:SS`, `DD:HH:MM:SS` from a day on, with milliseconds when there are any: `00:00:02.500`. */
export const formatClock = (ms: number): string => {
  const whole = Math.floor(ms / 1000)
  const rest = Math.round(ms - whole * 1000)
  const days = Math.floor(whole / 86_400)
  const hms = `${two(Math.floor((whole % 86_400) / 3600))}:${two(Math.floor((whole % 3600) / 60))}:${two(whole % 60)}`
  return `${days > 0 ? `${two(days)}:` : ''}${hms}${rest > 0 ? `.${String(rest).padStart(3, '0')}` : ''}`
}

/**
 * Lightning's `Timer`: stops training once it has run for `maxTime`. Time is measured with the
 * events' `time` (the run's clock) from `fitStart`, validation included, and checked after each
 * training batch (or at each epoch end with `interval: 'epoch'`); once `maxTime` has elapsed it
 * requests a stop (`timer: maxTime 00:01:00 elapsed`), which the loop honours as any stop
 * request: after `minEpochs`/`minSteps`, with a validation where it stops mid-epoch.
 *
 * The time spent is hook state (`{ elapsedMs }`, under the key `timer`), brought up to date at
 * every event a checkpoint can be written at, so a run resumed from a checkpoint goes on
 * counting from there rather than from zero.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 100 }).pipe(timer({ maxTime: { hours: 2 } }), checkpoint({ saveLast: true }))
 */
export const timer = (options: TimerOptions): MonoTypeOperatorFunction<FitEvent> => {
  const budget = durationMs(options.maxTime)
  const interval = options.interval ?? 'step'
  const reason = `timer: maxTime ${formatClock(budget)} elapsed`
  return hook<TimerRun, FitEvent>({
    kind: 'timer',
    // The events that carry the run's state: those a checkpoint is written at.
    on: ['fitStart', 'trainStep', 'validationEnd', 'epochEnd', 'fitEnd'],
    codec: TimerStateCodec,
    init: () => ({ elapsedMs: 0 }),
    step: (state, e) => {
      // At fitStart the state is the checkpoint's when the run resumes, else the initial one.
      const s = e.type === 'fitStart' ? { elapsedMs: state.elapsedMs, start: e.time, offset: state.elapsedMs, requested: false } : state
      if (s.start === undefined) return [s]
      const elapsedMs = (s.offset ?? 0) + (e.time - s.start)
      const checkNow = interval === 'step' ? e.type === 'trainStep' : e.type === 'epochEnd'
      if (checkNow && s.requested !== true && elapsedMs >= budget) return [{ ...s, elapsedMs, requested: true }, [stop(reason)]]
      return [{ ...s, elapsedMs }]
    },
  })
}
