import type { FitEndReason, Metrics } from './events.js'
import { addToEpoch, progressBarNames, type ReadLog, stepValues } from './logs.js'
import type { LoopState } from '../core/loopState.js'
import { canStopEarly, isOptimizerStepBatch, isValidationEpoch, isValidationPoint, type LoopPlan } from './plan.js'

/**
 * The fit loop's schedule (Lightning's `FitLoop` + `TrainingEpochLoop` decisions) as pure
 * functions: `nextAction` decides what the loop does next from the plan and the loop state
 * alone, and the transitions below give the state after each action. The interpreter
 * (`fitLoop.ts`) carries the actions out: it pulls batches, runs steps and emits events.
 */
export type Action =
  | { readonly type: 'startEpoch'; readonly epoch: number }
  | { readonly type: 'trainBatch'; readonly epoch: number; readonly batchIdx: number; readonly stepping: boolean }
  | { readonly type: 'validate'; readonly epoch: number; readonly afterBatch: number }
  /** Ends the epoch's last accumulation window: steps on what it gathered (`step`), or drops it. */
  | { readonly type: 'closeWindow'; readonly epoch: number; readonly step: boolean }
  | { readonly type: 'endEpoch'; readonly epoch: number }
  | { readonly type: 'endFit'; readonly reason: FitEndReason }

/** Whether a stop was requested and may be honoured now (`minEpochs`, `minSteps`). */
export const stopPending = (plan: LoopPlan, s: LoopState): boolean => s.stopReason !== null && canStopEarly(plan, s.epochsFinished, s.globalStep)

const isLastBatch = (plan: LoopPlan, batchIdx: number): boolean => batchIdx === plan.numTrainBatches - 1

/**
 * The epoch's next batch, or the end of its batches. A source of unknown length that runs out
 * before an epoch's first batch ends the run: every later epoch would be as empty, and with only
 * `maxSteps` to end it the loop would never stop.
 */
const nextBatch = (plan: LoopPlan, s: LoopState): Action => {
  const b = s.batchIdx + 1
  if (s.sourceExhausted && s.batchIdx === -1) return { type: 'endFit', reason: 'noTrainBatches' }
  if (s.sourceExhausted || b >= plan.numTrainBatches || stopPending(plan, s)) return { type: 'closeWindow', epoch: s.epoch, step: s.sourceExhausted }
  return { type: 'trainBatch', epoch: s.epoch, batchIdx: b, stepping: isOptimizerStepBatch(plan, b, isLastBatch(plan, b)) }
}

/** After a batch and its validation: the epoch ends at `maxSteps` or a stop (Lightning's `TrainingEpochLoop.done`). */
const afterChecks = (plan: LoopPlan, s: LoopState): Action =>
  s.globalStep >= plan.maxSteps || stopPending(plan, s) ? { type: 'closeWindow', epoch: s.epoch, step: false } : nextBatch(plan, s)

/**
 * What the loop does next. `interrupted`: a SIGINT/SIGTERM arrived, honoured where Lightning
 * checks (after a training step, a validation, an epoch).
 *
 * @example
 * nextAction(plan, initialLoopState(0, scale), false) // { type: 'startEpoch', epoch: 0 }
 */
export const nextAction = (plan: LoopPlan, s: LoopState, interrupted: boolean): Action => {
  switch (s.phase) {
    case 'fitStart':
    case 'epochEnd':
      if (interrupted) return { type: 'endFit', reason: 'interrupted' }
      if (plan.numTrainBatches === 0) return { type: 'endFit', reason: 'noTrainBatches' }
      if (s.globalStep >= plan.maxSteps) return { type: 'endFit', reason: 'maxSteps' }
      if (s.epochsFinished >= plan.maxEpochs) return { type: 'endFit', reason: 'maxEpochs' }
      if (stopPending(plan, s)) return { type: 'endFit', reason: 'stopRequested' }
      return { type: 'startEpoch', epoch: s.epochsFinished }
    case 'epochStarted':
      return nextBatch(plan, s)
    case 'afterStep': {
      if (interrupted) return { type: 'endFit', reason: 'interrupted' }
      // A stop honoured mid-epoch validates at this point (Lightning's `_should_check_val_fx`).
      const validates =
        isValidationPoint(plan, s.epoch, s.batchIdx, s.totalBatches - 1, isLastBatch(plan, s.batchIdx)) || (stopPending(plan, s) && isValidationEpoch(plan, s.epoch))
      return validates ? { type: 'validate', epoch: s.epoch, afterBatch: s.batchIdx } : afterChecks(plan, s)
    }
    case 'afterValidation':
      if (interrupted) return { type: 'endFit', reason: 'interrupted' }
      // A source that ran out was validated at once (its window already closed): only the epoch's end is left.
      return s.sourceExhausted ? { type: 'endEpoch', epoch: s.epoch } : afterChecks(plan, s)
    case 'windowClosed':
      // A source of unknown length that ran out validates at its end when validation is per epoch.
      if (s.sourceExhausted && !Number.isFinite(plan.valCheckBatch) && isValidationEpoch(plan, s.epoch)) return { type: 'validate', epoch: s.epoch, afterBatch: s.batchIdx }
      return { type: 'endEpoch', epoch: s.epoch }
  }
}

/** Whether the loop will want the batch after `batchIdx` once a step that is `stepping` is done (so it may be pulled while the step runs). */
export const wantsNextBatch = (plan: LoopPlan, s: LoopState, batchIdx: number, stepping: boolean): boolean =>
  batchIdx + 1 < plan.numTrainBatches && s.globalStep + (stepping ? 1 : 0) < plan.maxSteps && !stopPending(plan, s)

// Transitions: the state after each action's outcome. Field by field where a key is added, as
// V8 takes a slow path for spreads that add keys (the hot path runs one of these per step).

const withPhase = (s: LoopState, phase: LoopState['phase'], epoch: number, batchIdx: number): LoopState => ({ ...s, phase, epoch, batchIdx })

/** A stop a hook asked for: the first one wins, and it stays pending until honoured. */
export const requestStop = (s: LoopState, reason: string | undefined): LoopState => (reason === undefined || s.stopReason !== null ? s : { ...s, stopReason: reason })

export const epochStarted = (s: LoopState, epoch: number): LoopState => ({ ...withPhase(s, 'epochStarted', epoch, -1), epochLogs: [], epochProgBar: [], sourceExhausted: false })

/** What a trained batch changes in the loop state. */
export interface TrainedOutcome {
  readonly batchIdx: number
  readonly stepping: boolean
  readonly logs: readonly ReadLog[]
  /** The step's values by published name (`stepValues(logs)`, which the loop also puts in its event). */
  readonly stepMetrics?: Metrics
  readonly lossScale: LoopState['lossScale']
}

/** The epoch's progress-bar names with those of these logs added (the same array when none is new). */
const withProgBar = (names: readonly string[], logs: readonly ReadLog[]): readonly string[] => {
  // The common step shows nothing per epoch on the bar: no arrays built for it.
  if (!logs.some((l) => l.pending.progBar && l.pending.onEpoch)) return names
  const added = progressBarNames(logs, 'epoch').filter((n) => !names.includes(n))
  return added.length === 0 ? names : [...names, ...added]
}

export const batchTrained = (s: LoopState, o: TrainedOutcome): LoopState => {
  const values = o.stepMetrics ?? stepValues(o.logs)
  // Copies only what the batch changes: this runs once per step.
  const epochLogs = o.logs.some((l) => l.pending.onEpoch) ? [...addToEpoch(s.epochLogs, o.logs)] : s.epochLogs
  return {
    ...s,
    phase: 'afterStep',
    batchIdx: o.batchIdx,
    globalStep: s.globalStep + (o.stepping ? 1 : 0),
    totalBatches: s.totalBatches + 1,
    epochLogs,
    epochProgBar: withProgBar(s.epochProgBar, o.logs),
    lastStepMetrics: Object.keys(values).length === 0 ? s.lastStepMetrics : { ...s.lastStepMetrics, ...values },
    lossScale: o.lossScale,
  }
}

/** The source of unknown length ran out before the batch the loop asked for. */
export const sourceRanOut = (s: LoopState): LoopState => ({ ...s, sourceExhausted: true })

/** One more validation batch has run (outside the sanity check). */
export const validationBatchSeen = (s: LoopState): LoopState => ({ ...s, valBatchesSeen: (s.valBatchesSeen ?? 0) + 1 })

export const validated = (s: LoopState, afterBatch: number, metrics: Metrics): LoopState => ({ ...withPhase(s, 'afterValidation', s.epoch, afterBatch), lastValidation: metrics })

export const windowClosed = (s: LoopState, stepped: boolean, lossScale: LoopState['lossScale']): LoopState => ({
  ...s,
  phase: 'windowClosed',
  globalStep: s.globalStep + (stepped ? 1 : 0),
  lossScale,
})

export const epochEnded = (s: LoopState): LoopState => ({ ...s, phase: 'epochEnd', epochsFinished: s.epochsFinished + 1 })

/** Whether a training row is written for this step (Lightning's `log_every_n_steps`, and always at a stop). */
export const shouldLogStep = (plan: LoopPlan, s: LoopState, stepping: boolean): boolean => stepping && (s.globalStep % plan.logEveryNSteps === 0 || stopPending(plan, s))

/** The step a validation's row is logged under: that of the training row of the batch it followed. */
export const validationLogStep = (plan: LoopPlan, s: LoopState, afterBatch: number): number =>
  afterBatch >= 0 && isOptimizerStepBatch(plan, afterBatch, isLastBatch(plan, afterBatch)) ? s.globalStep - 1 : s.globalStep
