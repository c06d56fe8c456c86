import * as t from 'io-ts'
import type { MonoTypeOperatorFunction } from 'rxjs'
import { hook } from '../flow/hook.js'
import { stop } from '../flow/hookEffect.js'
import type { HookResult } from '../flow/hookSpec.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { EpochEnd, FitEvent, ValidationEnd } from '../pipeline/events.js'

/**
 * Lightning `EarlyStopping`'s options, with its names and defaults.
 *
 * @example
 * const options: EarlyStoppingOptions = { monitor: 'val/acc', mode: 'max', patience: 5, minDelta: 1e-3, stoppingThreshold: 0.99 }
 * fit(module, { train, val }, { maxEpochs: 100 }).pipe(earlyStopping(options)).subscribe()
 */
export interface EarlyStoppingOptions {
  /** The logged value to watch, e.g. `'val/loss'`. */
  readonly monitor: string
  /** The least change that counts as an improvement. Default 0. */
  readonly minDelta?: number
  /** Checks without improvement tolerated before stopping. Default 3. */
  readonly patience?: number
  readonly mode?: 'min' | 'max'
  /** A missing monitor is an error (true) or skipped (false). Default true. */
  readonly strict?: boolean
  /** Stop when the monitored value is NaN or infinite. Default true. */
  readonly checkFinite?: boolean
  /** Stop as soon as the value is better than this. */
  readonly stoppingThreshold?: number
  /** Stop as soon as the value is worse than this. */
  readonly divergenceThreshold?: number
  /** Check at training epoch end (after its validation) rather than after each validation; Lightning's rule by default. */
  readonly checkOnTrainEpochEnd?: boolean
}

/** What early stopping remembers (and checkpoints store). */
export interface EarlyStoppingState {
  readonly best: number | null
  readonly wait: number
  readonly stoppedEpoch: number | null
}

/** One check of the rules, as a pure function: the next state and, if it is time to stop, why. */
export const earlyStoppingCheck = (
  o: EarlyStoppingOptions,
  state: EarlyStoppingState,
  current: number,
  epoch: number,
): { readonly state: EarlyStoppingState; readonly stop: string | undefined } => {
  const mode = o.mode ?? 'min'
  const better = (a: number, b: number): boolean => (mode === 'min' ? a < b : a > b)
  const sign = mode === 'min' ? '<' : '>'
  const delta = Math.abs(o.minDelta ?? 0)
  const best = state.best ?? (mode === 'min' ? Infinity : -Infinity)
  const show = (v: number | null): string => (v === null || !Number.isFinite(v) ? String(v) : v.toFixed(3))
  const stopped = (why: string) => ({ state: { ...state, stoppedEpoch: epoch }, stop: `${why} Signaling Trainer to stop.` })
  if ((o.checkFinite ?? true) && !Number.isFinite(current))
    return stopped(`Monitored metric ${o.monitor} = ${current} is not finite. Previous best value was ${show(state.best)}.`)
  if (o.stoppingThreshold !== undefined && better(current, o.stoppingThreshold))
    return stopped(`Stopping threshold reached: ${o.monitor} = ${current} ${sign} ${o.stoppingThreshold}.`)
  if (o.divergenceThreshold !== undefined && better(o.divergenceThreshold, current))
    return stopped(`Divergence threshold reached: ${o.monitor} = ${current} ${mode === 'min' ? '>' : '<'} ${o.divergenceThreshold}.`)
  if (better(mode === 'min' ? current + delta : current - delta, best)) return { state: { ...state, best: current, wait: 0 }, stop: undefined }
  const wait = state.wait + 1
  if (wait >= (o.patience ?? 3))
    return {
      state: { ...state, wait, stoppedEpoch: epoch },
      stop: `Monitored metric ${o.monitor} did not improve in the last ${wait} records. Best score: ${show(state.best)}. Signaling Trainer to stop.`,
    }
  return { state: { ...state, wait }, stop: undefined }
}

/** Early stopping's resumable state: the rule's counters, and how this run checks (set at `fitStart`). */
export const EarlyStoppingStateCodec = t.intersection([
  t.type({ best: t.union([t.number, t.null]), wait: t.number, stoppedEpoch: t.union([t.number, t.null]) }),
  t.partial({ onEpochEnd: t.boolean, skip: t.boolean }),
])
type HookState = t.TypeOf<typeof EarlyStoppingStateCodec>

/**
 * Stops training when a monitored value stops improving (Lightning's `EarlyStopping`), as an
 * operator. Its stop request flows back to the loop, which then honours `minEpochs` and
 * `minSteps`, validates if mid-epoch, and ends the stream with a `fitEnd` whose `stopReason` is
 * the rule that fired. Its counters are checkpointed and restored on resume.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 100 }).pipe(earlyStopping({ monitor: 'val/loss', patience: 3 }))
 */
export const earlyStopping = (options: EarlyStoppingOptions): MonoTypeOperatorFunction<FitEvent> => {
  if (!(Number.isInteger(options.patience ?? 3) && (options.patience ?? 3) >= 0))
    throw rxtrainError('ConfigError', `earlyStopping patience must be an integer >= 0, got ${options.patience}`, 'use e.g. patience: 3.', { field: 'patience' })
  if (options.mode !== undefined && options.mode !== 'min' && options.mode !== 'max')
    throw rxtrainError('ConfigError', `earlyStopping mode must be 'min' or 'max', got ${String(options.mode)}`, "use mode: 'min' for losses, 'max' for accuracies.", { field: 'mode' })
  const check = (state: HookState, e: ValidationEnd | EpochEnd, metrics: Readonly<Record<string, number>>): HookResult<HookState> => {
    const current = metrics[options.monitor]
    if (current === undefined) {
      if (options.strict ?? true)
        throw rxtrainError(
          'ConfigError',
          `early stopping monitors '${options.monitor}', which was not logged`,
          `log it from a step, or monitor one of: ${Object.keys(metrics).sort().join(', ') || '(nothing logged)'}; strict: false skips the check instead.`,
          { monitor: options.monitor },
        )
      return [state]
    }
    const result = earlyStoppingCheck(options, state, current, e.epoch)
    const next = { ...state, ...result.state }
    return result.stop === undefined ? [next] : [next, [stop(result.stop)]]
  }
  return hook<HookState, FitEvent>({
    kind: 'earlyStopping',
    on: ['fitStart', 'validationEnd', 'epochEnd'],
    codec: EarlyStoppingStateCodec,
    init: () => ({ best: null, wait: 0, stoppedEpoch: null }),
    step: (state, e) => {
      if (e.type === 'fitStart') {
        const plan = e.plan
        const onEpochEnd = options.checkOnTrainEpochEnd ?? (plan.checkValEveryNEpoch === 1 && (!Number.isFinite(plan.valCheckBatch) || plan.valCheckBatch >= plan.numTrainBatches))
        return [{ ...state, onEpochEnd, skip: plan.fastDevRun }]
      }
      if (state.skip === true) return [state]
      if (e.type === 'validationEnd' && state.onEpochEnd === false) return check(state, e, e.metrics)
      if (e.type === 'epochEnd' && state.onEpochEnd === true) return check(state, e, e.callbackMetrics)
      return [state]
    },
  })
}
