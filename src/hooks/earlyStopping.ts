import { defer, type MonoTypeOperatorFunction, tap } from 'rxjs'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { EpochEnd, FitEvent, ValidationEnd } from '../pipeline/events.js'

/** Lightning `EarlyStopping`'s options, with its names and defaults. */
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
  /** The name of this hook's state in checkpoints. Default `'earlyStopping'`. */
  readonly name?: string
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

const isState = (u: unknown): u is EarlyStoppingState => typeof u === 'object' && u !== null && typeof (u as { wait?: unknown }).wait === 'number'

/**
 * Stops training when a monitored value stops improving (Lightning's `EarlyStopping`), as an
 * operator. It asks the loop to stop (`control.requestStop`), which then honours `minEpochs` and
 * `minSteps`, validates if mid-epoch, and ends the stream with a `fitEnd` whose `stopReason` is
 * the rule that fired. Its counters are checkpointed and restored on resume.
 *
 * @example
 * fit(module, data, { maxEpochs: 100 }).pipe(earlyStopping({ monitor: 'val/loss', patience: 3 }))
 */
export const earlyStopping = (options: EarlyStoppingOptions): MonoTypeOperatorFunction<FitEvent> => {
  if (!(Number.isInteger(options.patience ?? 3) && (options.patience ?? 3) >= 0))
    throw rxtrainError('ConfigError', `earlyStopping patience must be an integer >= 0, got ${options.patience}`, 'use e.g. patience: 3.', { field: 'patience' })
  if (options.mode !== undefined && options.mode !== 'min' && options.mode !== 'max')
    throw rxtrainError('ConfigError', `earlyStopping mode must be 'min' or 'max', got ${String(options.mode)}`, "use mode: 'min' for losses, 'max' for accuracies.", { field: 'mode' })
  const name = options.name ?? 'earlyStopping'
  return (source) =>
    defer(() => {
      let state: EarlyStoppingState = { best: null, wait: 0, stoppedEpoch: null }
      let onEpochEnd = true
      let skip = false
      const check = (e: ValidationEnd | EpochEnd, metrics: Readonly<Record<string, number>>): void => {
        const current = metrics[options.monitor]
        if (current === undefined) {
          if (options.strict ?? true)
            throw rxtrainError(
              'ConfigError',
              `early stopping monitors '${options.monitor}', which was not logged`,
              `log it from a step, or monitor one of: ${Object.keys(metrics).sort().join(', ') || '(nothing logged)'}; strict: false skips the check instead.`,
              { monitor: options.monitor },
            )
          return
        }
        const result = earlyStoppingCheck(options, state, current, e.epoch)
        state = result.state
        e.control.setHookState(name, state)
        if (result.stop !== undefined) e.control.requestStop(result.stop)
      }
      return source.pipe(
        tap((e) => {
          if (e.type === 'fitStart') {
            const restored = e.resumed?.hookStates[name]
            if (isState(restored)) state = restored
            skip = e.plan.fastDevRun
            onEpochEnd = options.checkOnTrainEpochEnd ?? (e.plan.checkValEveryNEpoch === 1 && (!Number.isFinite(e.plan.valCheckBatch) || e.plan.valCheckBatch >= e.plan.numTrainBatches))
            e.control.setHookState(name, state)
          } else if (!skip && e.type === 'validationEnd' && !onEpochEnd) check(e, e.metrics)
          else if (!skip && e.type === 'epochEnd' && onEpochEnd) check(e, e.callbackMetrics)
        }),
      )
    })
}
