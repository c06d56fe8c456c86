import * as E from 'fp-ts/lib/Either.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { BatchLimit, ResolvedOptions } from './options.js'

/**
 * The loop's schedule, computed once from the options and the data before the first batch: how
 * many batches each stage runs, where validation happens, when training ends. A pure function of
 * its inputs, so the schedule a Lightning user expects can be tested without training anything.
 * `Infinity` means "no limit" (or an epoch of unknown length).
 *
 * @example
 * // the optimizer may be a function of the plan, e.g. to size a one-cycle schedule
 * const optimizer = (plan: LoopPlan) => optim.adam({ lr: optim.oneCycle({ maxLr: 1e-2, totalSteps: plan.estimatedSteppingBatches }) })
 * const start = await firstValueFrom(fit({ ...module, optimizer }, { train, val }, { maxEpochs: 3 }).pipe(filter((e) => e.type === 'fitStart')))
 * console.log(start.plan.numTrainBatches, start.plan.estimatedSteppingBatches) // 469 1407
 */
export interface LoopPlan {
  readonly numTrainBatches: number
  /** Validation batches per validation run; 0 when validation is off. */
  readonly numValBatches: number
  /** Validate after every this many training batches (`Infinity`: at the end of each epoch). */
  readonly valCheckBatch: number
  readonly checkValEveryNEpoch: number | null
  readonly numSanityBatches: number
  readonly maxEpochs: number
  readonly maxSteps: number
  readonly minEpochs: number
  readonly minSteps: number
  readonly accumulateGradBatches: number
  readonly logEveryNSteps: number
  /** Training batches come in their natural order (`overfitBatches`). */
  readonly noShuffle: boolean
  /** A `fastDevRun`: hooks that write (loggers, checkpoints) should stay quiet. */
  readonly fastDevRun: boolean
  /** Optimizer steps the run will take if nothing stops it early (Lightning's `estimated_stepping_batches`). */
  readonly estimatedSteppingBatches: number
  readonly seed: number
}

/** What the plan needs to know about the data and the module. */
export interface PlanInputs {
  readonly trainBatches: number | undefined
  readonly valBatches: number | undefined
  readonly hasValidation: boolean
}

type PlanError = RxtrainError<'ConfigError'>

const isCount = (l: BatchLimit): l is number => typeof l === 'number' && Number.isInteger(l)
const fractionOf = (l: BatchLimit): number => (typeof l === 'number' ? l : l.fraction)

/**
 * Batches to run from a source of `available` batches (undefined: unknown) under a limit, as
 * Lightning computes it: a count caps, a fraction takes `floor(n * f)`, 0 disables.
 */
export const limitBatches = (available: number | undefined, limit: BatchLimit, option: string): E.Either<PlanError, number> => {
  const n = available ?? Number.POSITIVE_INFINITY
  if (isCount(limit)) return E.right(Math.min(n, limit))
  const f = fractionOf(limit)
  if (f === 1) return E.right(n)
  if (f === 0) return E.right(0)
  if (available === undefined)
    return E.left(
      rxtrainError('ConfigError', `${option} is a fraction (${f}) but the source does not know its length`, `give ${option} as a batch count, or give the source numBatches.`, {
        field: option,
      }),
    )
  const batches = Math.floor(available * f)
  if (batches === 0)
    return E.left(
      rxtrainError(
        'ConfigError',
        `${option} = ${f} of ${available} batches is less than one batch`,
        `raise ${option} (at least ${(1 / available).toPrecision(3)}) or give it as a count.`,
        { field: option },
      ),
    )
  return E.right(batches)
}

/**
 * Training batches between validations: an integer interval as it is; a fraction f as
 * `max(1, floor(T * f))`, so `{ fraction: 0 }` validates after every batch (Lightning's rule).
 */
const valCheckBatchOf = (o: ResolvedOptions, numTrain: number): E.Either<PlanError, number> => {
  const v = o.valCheckInterval
  if (isCount(v)) {
    if (v > numTrain && o.checkValEveryNEpoch !== null)
      return E.left(
        rxtrainError(
          'ConfigError',
          `valCheckInterval (${v}) is larger than the ${numTrain} training batches of an epoch`,
          'lower it, or set checkValEveryNEpoch: null to count batches across epochs.',
          { field: 'valCheckInterval' },
        ),
      )
    return E.right(v)
  }
  const f = fractionOf(v)
  if (!Number.isFinite(numTrain)) {
    if (f === 1) return E.right(Number.POSITIVE_INFINITY)
    return E.left(
      rxtrainError('ConfigError', `valCheckInterval is a fraction (${f}) but the training source does not know its length`, 'give valCheckInterval as a batch count.', {
        field: 'valCheckInterval',
      }),
    )
  }
  return E.right(Math.max(1, Math.floor(numTrain * f)))
}

const overfitting = (o: ResolvedOptions): boolean => fractionOf(o.overfitBatches) > 0

/**
 * Options after `fastDevRun` and `overfitBatches` have rewritten them, as Lightning's
 * `_init_debugging_flags` does: `fastDevRun` n runs n batches of each stage in one epoch, except
 * that the training and validation limits `overfitBatches` sets are kept.
 */
export const debugOverrides = (o: ResolvedOptions): ResolvedOptions => {
  const overfit = overfitting(o) ? { limitTrainBatches: o.overfitBatches, limitValBatches: o.overfitBatches } : {}
  if (o.fastDevRun > 0) {
    const n = o.fastDevRun
    return {
      ...o,
      limitTrainBatches: n,
      limitValBatches: n,
      limitTestBatches: n,
      limitPredictBatches: n,
      maxEpochs: 1,
      maxSteps: n,
      numSanityValSteps: 0,
      valCheckInterval: { fraction: 1 },
      checkValEveryNEpoch: 1,
      ...overfit,
    }
  }
  return { ...o, ...overfit }
}

/**
 * The fit loop's plan.
 *
 * @example
 * const plan = pipe(
 *   parseTrainerOptions({ maxEpochs: 3, valCheckInterval: 0.5 }),
 *   E.chainW((options) => planFit(options, { trainBatches: 10, valBatches: 2, hasValidation: true })),
 * )
 * // Right({ valCheckBatch: 5, estimatedSteppingBatches: 30, ... }): validation after batches 4 and 9
 */
export const planFit = (options: ResolvedOptions, inputs: PlanInputs): E.Either<PlanError, LoopPlan> => {
  const o = debugOverrides(options)
  const numTrain = limitBatches(inputs.trainBatches, o.limitTrainBatches, 'limitTrainBatches')
  if (E.isLeft(numTrain)) return numTrain
  const valAvailable = inputs.hasValidation ? inputs.valBatches : 0
  const numVal = limitBatches(valAvailable, o.limitValBatches, 'limitValBatches')
  if (E.isLeft(numVal)) return numVal
  const validation = numVal.right > 0
  const valCheck = validation && numTrain.right > 0 ? valCheckBatchOf(o, numTrain.right) : E.right(Number.POSITIVE_INFINITY)
  if (E.isLeft(valCheck)) return valCheck
  const maxSteps = o.maxSteps === -1 ? Number.POSITIVE_INFINITY : o.maxSteps
  const maxEpochs =
    o.maxEpochs === undefined ? (o.maxSteps === -1 ? 1000 : Number.POSITIVE_INFINITY) : o.maxEpochs === -1 ? Number.POSITIVE_INFINITY : o.maxEpochs
  const sanity = !validation ? 0 : o.numSanityValSteps === -1 ? numVal.right : Math.min(o.numSanityValSteps, numVal.right)
  const perEpoch = Math.ceil(numTrain.right / o.accumulateGradBatches)
  const estimated = Math.min(maxSteps, perEpoch * Math.max(maxEpochs, 1))
  return E.right({
    numTrainBatches: numTrain.right,
    numValBatches: numVal.right,
    valCheckBatch: valCheck.right,
    checkValEveryNEpoch: o.checkValEveryNEpoch,
    numSanityBatches: sanity,
    maxEpochs,
    maxSteps,
    minEpochs: o.minEpochs,
    minSteps: o.minSteps,
    accumulateGradBatches: o.accumulateGradBatches,
    logEveryNSteps: o.logEveryNSteps,
    noShuffle: overfitting(o),
    fastDevRun: o.fastDevRun > 0,
    estimatedSteppingBatches: Number.isNaN(estimated) ? 0 : estimated,
    seed: o.seed,
  })
}

/** Whether epoch `epoch` validates at all. */
export const isValidationEpoch = (plan: LoopPlan, epoch: number): boolean =>
  plan.numValBatches > 0 && (plan.checkValEveryNEpoch === null || (epoch + 1) % plan.checkValEveryNEpoch === 0)

/** Whether validation follows training batch `batchIdx` (`totalBatchIdx` counts across epochs). */
export const isValidationPoint = (plan: LoopPlan, epoch: number, batchIdx: number, totalBatchIdx: number, isLastBatch: boolean): boolean => {
  if (!isValidationEpoch(plan, epoch)) return false
  if (!Number.isFinite(plan.valCheckBatch)) return isLastBatch
  const position = plan.checkValEveryNEpoch === null ? totalBatchIdx : batchIdx
  return (position + 1) % plan.valCheckBatch === 0
}

/** With k-batch accumulation, the optimizer steps on every k-th batch of an epoch and on its last. */
export const isOptimizerStepBatch = (plan: LoopPlan, batchIdx: number, isLastBatch: boolean): boolean =>
  (batchIdx + 1) % plan.accumulateGradBatches === 0 || isLastBatch

/** Lightning's `_can_stop_early`: stop requests wait for `minEpochs` finished epochs and `minSteps` steps. */
export const canStopEarly = (plan: LoopPlan, epochsFinished: number, globalStep: number): boolean =>
  epochsFinished >= plan.minEpochs && globalStep >= plan.minSteps
