import { isRight } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { MonoTypeOperatorFunction } from 'rxjs'
import { hook } from '../flow/hook.js'
import type { HookResult } from '../flow/hookSpec.js'
import type { GradientTransform } from '../optim/transform.js'
import type { EventOf, FitEvent, Metrics } from '../pipeline/events.js'
import type { StateTree } from '../tree/tree.js'

/**
 * Lightning `LearningRateMonitor`'s options.
 *
 * @example
 * const options: LrMonitorOptions = { loggingInterval: 'epoch', prefix: 'optim/', logMomentum: true }
 * fit(module, { train, val }, { maxEpochs: 10 }).pipe(lrMonitor(options), csvLogger()).subscribe() // columns optim/lr, optim/momentum
 */
export interface LrMonitorOptions {
  /** `'step'` (default): on every training batch's metrics; `'epoch'`: on each epoch's metrics. */
  readonly loggingInterval?: 'step' | 'epoch'
  /** Prepended to each name, e.g. `'optim/'` gives `optim/lr`. Default none: `lr`. */
  readonly prefix?: string
  /** Also add `momentum` when the optimizer reports one (Lightning's `log_momentum`). Default false. */
  readonly logMomentum?: boolean
  /** Also add `weightDecay` when the optimizer reports one (Lightning's `log_weight_decay`). Default false. */
  readonly logWeightDecay?: boolean
}

/**
 * The values to log from an optimizer's hyperparameters: `lr` (times `plateauScale` when a
 * `reduceOnPlateau` scales the updates, so it is the step size actually applied, as PyTorch's
 * scheduler writes it into the optimizer), and `momentum` / `weightDecay` when asked for.
 */
const loggedValues = (
  hyperparams: Readonly<Record<string, number>>,
  options: LrMonitorOptions,
): Readonly<Record<string, number>> => {
  const out: Record<string, number> = {}
  const { lr, plateauScale, momentum, weightDecay } = hyperparams
  if (lr !== undefined) out.lr = plateauScale === undefined ? lr : lr * plateauScale
  if (options.logMomentum === true && momentum !== undefined) out.momentum = momentum
  if (options.logWeightDecay === true && weightDecay !== undefined) out.weightDecay = weightDecay
  return out
}

type Values = Readonly<Record<string, number>>

/** What the monitor knows of the run. Only `epochStarted` is resumable: the rest is read again at `fitStart`. */
interface LrState {
  /** The values the current epoch started with (what `'epoch'` adds at its end). */
  readonly epochStarted: Values
  /** The run's optimizer (from `fitStart`). */
  readonly optimizer: GradientTransform<StateTree> | undefined
  /** What the optimizer reports for the state as it stands: what the next step will use. */
  readonly upcoming: Values | undefined
}

const ValuesCodec = t.record(t.string, t.number)

/**
 * The monitor's state in a checkpoint: the values the epoch started with, as a record
 * (`{ lr: 0.05 }`, what earlier versions stored), so that a run resumed inside an epoch adds
 * the rate that epoch started with. The optimizer and the upcoming values are not stored.
 */
export const LrMonitorStateCodec = new t.Type<LrState, Values, unknown>(
  'LrMonitorState',
  (u): u is LrState => typeof u === 'object' && u !== null && ValuesCodec.is((u as { epochStarted?: unknown }).epochStarted),
  (u, c) => {
    const decoded = ValuesCodec.validate(u, c)
    return isRight(decoded) ? t.success({ epochStarted: decoded.right, optimizer: undefined, upcoming: undefined }) : decoded
  },
  (s) => s.epochStarted,
)

/**
 * Lightning's `LearningRateMonitor`: adds the learning rate to the metrics that loggers write, as
 * `lr` (with `prefix`, `${prefix}lr`). With `loggingInterval: 'step'` each `trainStep` carries the
 * rate that step's update used (so the row a logger writes at `logStep` k holds the schedule's
 * value at step k); with `'epoch'` each `epochEnd` carries the rate the epoch started with.
 *
 * Events are immutable: the hook emits a new event with the extra metrics and leaves the
 * original untouched; place it before the loggers that should write them. The value comes from
 * the run's optimizer (`fitStart.optimizer.hyperparams(optState)`), read from the state before
 * the step while the run waits for the hook; when the optimizer reports none, events pass
 * through unchanged. The rate an epoch started with is hook state (key `lrMonitor`), so a run
 * resumed inside an epoch adds the same value at that epoch's end.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 10 }).pipe(lrMonitor(), csvLogger({ dir: 'runs/mnist' }))
 */
export const lrMonitor = (options: LrMonitorOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const interval = options.loggingInterval ?? 'step'
  const prefix = options.prefix ?? ''
  const withValues = <E extends { readonly metrics: Metrics }>(e: E, values: Values | undefined): E => {
    const entries = Object.entries(values ?? {})
    if (entries.length === 0) return e
    return { ...e, metrics: { ...e.metrics, ...Object.fromEntries(entries.map(([k, v]) => [`${prefix}${k}`, v])) } }
  }
  const read = (optimizer: GradientTransform<StateTree> | undefined, optState: StateTree): Values | undefined => {
    const hyperparams = optimizer?.hyperparams?.(optState)
    return hyperparams === undefined ? undefined : loggedValues(hyperparams, options)
  }
  const add = (state: LrState, e: EventOf<FitEvent, 'trainStep' | 'epochEnd'>, values: Values | undefined): HookResult<LrState, FitEvent> => {
    const out = withValues(e, values)
    return out === e ? [state] : [state, [], out]
  }
  return hook<LrState, FitEvent>({
          kind: 'lrMonitor',
          on: ['fitStart', 'epochStart', 'trainStep', 'validationEnd', 'epochEnd'],
          codec: LrMonitorStateCodec,
          init: () => ({ epochStarted: {}, optimizer: undefined, upcoming: undefined }),
          step: (state, e) => {
            switch (e.type) {
              case 'fitStart':
                // A resumed run keeps the checkpoint's epochStarted: the epoch it resumes inside started with it.
                return [{ ...state, optimizer: e.optimizer, upcoming: read(e.optimizer, e.state.optState) }]
              case 'epochStart':
                return [e.firstBatch === 0 ? { ...state, epochStarted: state.upcoming ?? {} } : state]
              case 'trainStep': {
                const next = { ...state, upcoming: read(state.optimizer, e.state.optState) }
                return interval === 'step' ? add(next, e, state.upcoming) : [next]
              }
              case 'validationEnd':
                return [{ ...state, upcoming: read(state.optimizer, e.state.optState) }]
              case 'epochEnd': {
                const next = { ...state, upcoming: read(state.optimizer, e.state.optState) }
                return interval === 'epoch' ? add(next, e, state.epochStarted) : [next]
              }
              default:
                return [state]
            }
          },
  })
}
