import { defer, map, type MonoTypeOperatorFunction } from 'rxjs'
import type { FitEvent, Metrics } from '../pipeline/events.js'
import type { GradientTransform } from '../optim/transform.js'
import type { StateTree } from '../tree/tree.js'

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

/**
 * Lightning's `LearningRateMonitor`: adds the learning rate to the metrics that loggers write, as
 * `lr` (with `prefix`, `${prefix}lr`). With `loggingInterval: 'step'` each `trainStep` carries the
 * rate that step's update used (so the row a logger writes at `logStep` k holds the schedule's
 * value at step k); with `'epoch'` each `epochEnd` carries the rate the epoch started with.
 *
 * Events are immutable: the hook emits a new event with the extra metrics and leaves the
 * original untouched; place it before the loggers that should write them. The value comes from
 * the run's optimizer (`fitStart.optimizer.hyperparams(optState)`), read from the state before
 * the step; when the optimizer reports none, events pass through unchanged.
 *
 * @example
 * fit(module, data, { maxEpochs: 10 }).pipe(lrMonitor(), csvLogger({ dir: 'runs/mnist' }))
 */
export const lrMonitor = (options: LrMonitorOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const interval = options.loggingInterval ?? 'step'
  const prefix = options.prefix ?? ''
  const withValues = <E extends { readonly metrics: Metrics }>(e: E, values: Readonly<Record<string, number>> | undefined): E => {
    const entries = Object.entries(values ?? {})
    if (entries.length === 0) return e
    return { ...e, metrics: { ...e.metrics, ...Object.fromEntries(entries.map(([k, v]) => [`${prefix}${k}`, v])) } }
  }
  const stateName = `lrMonitor${options.prefix ?? ''}`
  return (source) =>
    defer(() => {
      let optimizer: GradientTransform<StateTree> | undefined
      /** What the optimizer reports for the state as it stands: what the next step will use. */
      let upcoming: Readonly<Record<string, number>> | undefined
      let epochStarted: Readonly<Record<string, number>> | undefined
      const read = (optState: StateTree): void => {
        const hyperparams = optimizer?.hyperparams?.(optState)
        upcoming = hyperparams === undefined ? undefined : loggedValues(hyperparams, options)
      }
      return source.pipe(
        map((e): FitEvent => {
          switch (e.type) {
            case 'fitStart': {
              optimizer = e.optimizer
              read(e.state.optState)
              // A run resumed inside an epoch logs the rate that epoch started with, as it would have.
              const restored = e.resumed?.hookStates[stateName]
              if (typeof restored === 'object' && restored !== null) epochStarted = restored as Record<string, number>
              return e
            }
            case 'epochStart':
              if (e.firstBatch === 0) epochStarted = upcoming
              if (epochStarted !== undefined) e.control.setHookState(stateName, epochStarted)
              return e
            case 'trainStep': {
              const used = upcoming
              read(e.state.optState)
              return interval === 'step' ? withValues(e, used) : e
            }
            case 'validationEnd':
              read(e.state.optState)
              return e
            case 'epochEnd':
              read(e.state.optState)
              return interval === 'epoch' ? withValues(e, epochStarted) : e
            default:
              return e
          }
        }),
      )
    })
}
