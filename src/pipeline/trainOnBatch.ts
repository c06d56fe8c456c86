import { Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { LossScale, Precision } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Params, StateTree } from '../tree/tree.js'
import { batchSizeOf, stepError } from './batches.js'
import type { TrainState } from './events.js'
import type { ReadLog } from './logs.js'
import type { Module, ParamGroups, StepContext } from './module.js'
import type { LoopPlan } from './plan.js'
import { type ReadBack, readBack, readBackAsync } from './readBack.js'
import { applyGradients, type StepResult, type TrainStep, trainStep } from './step.js'
import { trainState, type TrainStepContext } from './stepParts.js'

/** The run's training step, or what builds it. */
export interface StepArgs<P extends Params, S extends Params, B> {
  readonly module: Module<P, S, B, unknown>
  /** The run's optimizer (with the trainer's gradient clipping in front, as `fit` resolves it). */
  readonly optimizer: GradientTransform<StateTree>
  readonly precision: Precision
  readonly plan: Pick<LoopPlan, 'accumulateGradBatches'>
  /**
   * The run's step, `trainStep(module, optimizer, { precision, accumulateGradBatches })`, built once
   * by the loop; when absent it is built from the fields above on each call (the same step).
   */
  readonly step?: TrainStep<P, S, B>
}

/**
 * The step's context in the loop: the module's, with the loss scale before this batch (the loop's
 * state) and whether this batch ends with an optimizer step (else its gradients accumulate).
 */
export interface LoopStepContext extends TrainStepContext {
  readonly lossScale: LossScale
  readonly optimizerStep: boolean
}

export interface TrainOnBatch<P extends Params, S extends Params, B> extends StepArgs<P, S, B> {
  readonly backend: Backend
  readonly state: TrainState<P, S>
  /** Owned by this call: released before it returns. */
  readonly batch: B
  readonly ctx: LoopStepContext
}

export interface TrainedBatch<P extends Params, S extends Params> {
  /** The next generation; the previous one's tensors that it does not reuse are released. */
  readonly state: TrainState<P, S>
  readonly loss: number
  readonly logs: ReadLog[]
  readonly batchSize: number
  /**
   * Whether this batch's gradients were all finite. Checked only under a precision policy that
   * `skipsNonFinite` (`'16-mixed'`), where a non-finite step is skipped; true otherwise.
   */
  readonly gradsFinite: boolean
  /** The loss scale after this batch (moved by an optimizer step under `'16-mixed'`). */
  readonly lossScale: LossScale
}

export const nonFiniteLoss = (ctx: StepContext, loss: number, logs: readonly ReadLog[]) => {
  const others = logs.filter((l) => !Number.isFinite(l.value)).map((l) => `${l.pending.name} = ${l.value}`)
  return rxtrainError(
    'NonFiniteError',
    `the training loss is ${loss} at epoch ${ctx.epoch}, batch ${ctx.batchIdx} (global step ${ctx.globalStep})${others.length > 0 ? `; also non-finite: ${others.join(', ')}` : ''}`,
    'lower the learning rate, clip gradients (gradientClipVal), check the data for NaN or Inf, or put applyIfFinite(...) in the optimizer chain to skip such steps.',
    { epoch: ctx.epoch, batchIdx: ctx.batchIdx, globalStep: ctx.globalStep, loss },
  )
}

/** The step the loop runs: the one given, else the exported step built from the run's parts. */
export const stepOf = <P extends Params, S extends Params, B>(a: StepArgs<P, S, B>): TrainStep<P, S, B> =>
  a.step ?? trainStep(a.module, a.optimizer, { precision: a.precision, accumulateGradBatches: a.plan.accumulateGradBatches })

/** A step for `closeWindow`, which runs only the update half: it has no forward pass. */
const updateOnly = { trainingStep: (): never => { throw new Error('closeWindow runs no forward pass') } }

/**
 * Gradients left in an accumulation window when an epoch ends. A source of unknown length that ran
 * out inside the window steps on what it gathered (`step`: the step's update half on the window's
 * sum, as when a batch closes a window: clipping, non-finite skipping, storage); a window cut short
 * by `maxSteps` or a stop drops them, as Lightning does. Releases the old generation; undefined
 * when no window is open. Given the loop's loss scale, it answers the next one (moved by a step).
 */
export const closeWindow = <P extends Params, S extends Params>(
  backend: Backend,
  optimizer: GradientTransform<StateTree>,
  precision: Precision,
  before: TrainState<P, S>,
  step: boolean,
  lossScale: LossScale = precision.initScale(),
  groups?: ParamGroups,
): { readonly next: TrainState<P, S>; readonly stepped: boolean; readonly gradsFinite: boolean; readonly lossScale: LossScale } | undefined => {
  const pending = before.gradAccumulator ?? null
  if (pending === null) return undefined
  const emptied = trainState(before.params, before.state, before.optState, null)
  const closed = step
    ? backend.scoped(() => applyGradients(trainStep<P, S, unknown>(groups === undefined ? updateOnly : { ...updateOnly, groups }, optimizer, { precision }), emptied, { grads: pending, state: before.state }, { batchIdx: -1, lossScale, optimizerStep: true }))
    : { state: emptied, gradsFinite: true, stepped: false, lossScale }
  backend.release(before, closed.state)
  return { next: closed.state, stepped: step, gradsFinite: closed.gradsFinite, lossScale: closed.lossScale }
}

/** The step run on the device (the exported `trainStep`), before its scalars are read back. */
const computeStep = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): StepResult<P, S> => {
  const step = stepOf(a)
  return a.backend.scoped(() => step(a.state, a.batch, a.ctx))
}

/** After the read: releases the previous generation and checks the loss. */
const finishStep = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>, step: StepResult<P, S>, read: ReadBack, batchSize: number): TrainedBatch<P, S> => {
  const loss = read.extra[0] as number
  const next = step.state
  a.backend.release(a.state, next)
  if (!Number.isFinite(loss) && a.optimizer.guardsNonFinite !== true) {
    a.backend.release(next, [])
    throw nonFiniteLoss(a.ctx, loss, read.logs)
  }
  return { state: next, loss, logs: read.logs, batchSize, gradsFinite: step.gradsFinite, lossScale: step.lossScale }
}

/**
 * One training batch inside the loop: the run's `trainStep` (forward and backward, then either an
 * optimizer step or one more addition to the gradient accumulator); then the step's loss and logs
 * are read back in one transfer, and the previous generation is released. The batch is released
 * whatever happens. On a backend without synchronous reads (webgpu) the answer is an Observable of
 * the same.
 */
export const trainOnBatch = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): TrainedBatch<P, S> | Observable<TrainedBatch<P, S>> => {
  const { backend, ctx } = a
  const before = a.state
  const batchSize = batchSizeOf(a.batch)
  let next: TrainState<P, S> | undefined
  const releaseBatch = () => backend.release(a.batch, [before, next])
  const failed = (e: unknown) => {
    if (next !== undefined) backend.release(next, before)
    return stepError('train', ctx.epoch, ctx.batchIdx, a.batch, e)
  }
  let step: StepResult<P, S>
  let read: ReadBack | Promise<ReadBack>
  try {
    step = computeStep(a)
    next = step.state
    // Read before releasing: a logged value may be a tensor of the previous generation.
    const request = { logs: step.logs, defaults: { onStep: true, onEpoch: false }, batchSize, extra: [step.loss], keep: [before, next, a.batch] }
    read = backend.hostReads ? readBack(backend, request) : readBackAsync(backend, request)
  } catch (e) {
    const error = failed(e)
    releaseBatch()
    throw error
  }
  const computed = step
  if (!(read instanceof Promise)) {
    releaseBatch()
    return finishStep(a, computed, read, batchSize)
  }
  const pending = read
  return new Observable<TrainedBatch<P, S>>((subscriber) => {
    let cancelled = false
    pending.then(
      (r) => {
        releaseBatch()
        // Unsubscribed while reading: nobody will take the new generation, so release it.
        if (cancelled) return backend.release(computed.state, before)
        let out: TrainedBatch<P, S>
        try {
          out = finishStep(a, computed, r, batchSize)
        } catch (e) {
          subscriber.error(e)
          return
        }
        subscriber.next(out)
        subscriber.complete()
      },
      (e: unknown) => {
        const error = failed(e)
        releaseBatch()
        if (!cancelled) subscriber.error(error)
      },
    )
    return () => {
      cancelled = true
    }
  })
}
