import type * as tf from '@tensorflow/tfjs-core'
import { Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { LossScale, Precision } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Params, StateTree } from '../tree/tree.js'
import { batchSizeOf, stepError } from './batches.js'
import type { TrainState } from './events.js'
import type { Logs, ReadLog } from './logs.js'
import type { Module, StepContext } from './module.js'
import type { LoopPlan } from './plan.js'
import { type ReadBack, readBack, readBackAsync } from './readBack.js'
import { allFinite } from '../optim/applyIfFinite.js'
import { addGradients, computeGradients, optimizerUpdate } from './step.js'

export interface TrainOnBatch<P extends Params, S extends Params, B> {
  readonly module: Module<P, S, B, unknown>
  readonly optimizer: GradientTransform<StateTree>
  readonly backend: Backend
  readonly precision: Precision
  readonly plan: LoopPlan
  readonly lossScale: LossScale
  readonly state: TrainState<P, S>
  /** Owned by this call: released before it returns. */
  readonly batch: B
  readonly ctx: StepContext
  /** Whether this batch ends with an optimizer step (else its gradients accumulate). */
  readonly stepping: boolean
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

/** A train state built field by field, always in one shape (the loop makes one or two per step). */
const trainState = <P extends Params, S extends Params>(params: P, state: S, optState: StateTree, gradAccumulator: Params | null): TrainState<P, S> => ({
  params,
  state,
  optState,
  gradAccumulator,
})

/** The step computed on the device, before its scalars are read back. */
interface ComputedStep<P extends Params, S extends Params> {
  readonly next: TrainState<P, S>
  readonly loss: tf.Scalar
  readonly logs: Logs | undefined
  readonly gradsFinite: boolean
}

/**
 * An optimizer step under a precision policy: under loss scaling, a step whose gradients are not
 * all finite is skipped (the parameters and optimizer state stay as they were; the caller moves
 * the scale); the result is stored as the policy keeps it. Call inside an allocation scope.
 */
export const optimizerStep = <P extends Params, S extends Params>(
  optimizer: GradientTransform<StateTree>,
  precision: Precision,
  state: TrainState<P, S>,
  grads: Params,
): { readonly next: TrainState<P, S>; readonly gradsFinite: boolean } => {
  const gradsFinite = precision.skipsNonFinite ? allFinite(grads) : true
  const { params, optState } = gradsFinite ? optimizerUpdate(optimizer, state.params, state.optState, grads) : state
  return { next: precision.storeState(trainState(params, state.state, optState, null)), gradsFinite }
}

/**
 * A batch's gradients applied: added to those gathered so far in the accumulation window, then
 * either one optimizer step (`stepping`) or kept for the next batch. `state` is the model state the
 * batch produced. Call inside an allocation scope.
 */
export const accumulateOrStep = <P extends Params, S extends Params>(
  optimizer: GradientTransform<StateTree>,
  precision: Precision,
  before: TrainState<P, S>,
  state: S,
  grads: Params,
  stepping: boolean,
): { readonly next: TrainState<P, S>; readonly gradsFinite: boolean } => {
  const all = before.gradAccumulator == null ? grads : addGradients(before.gradAccumulator, grads)
  const withState = trainState(before.params, state, before.optState, all)
  if (!stepping) return { next: precision.storeState(withState), gradsFinite: true }
  return optimizerStep(optimizer, precision, withState, all)
}

/**
 * Gradients left in an accumulation window when an epoch ends. A source of unknown length that ran
 * out inside the window steps on what it gathered (`step`); a window cut short by `maxSteps` or a
 * stop drops them, as Lightning does. Releases the old generation; undefined when no window is open.
 */
export const closeWindow = <P extends Params, S extends Params>(
  backend: Backend,
  optimizer: GradientTransform<StateTree>,
  precision: Precision,
  before: TrainState<P, S>,
  step: boolean,
): { readonly next: TrainState<P, S>; readonly stepped: boolean; readonly gradsFinite: boolean } | undefined => {
  const pending = before.gradAccumulator ?? null
  if (pending === null) return undefined
  const closed = step ? backend.scoped(() => optimizerStep(optimizer, precision, before, pending)) : { next: trainState(before.params, before.state, before.optState, null), gradsFinite: true }
  backend.release(before, closed.next)
  return { ...closed, stepped: step }
}

const computeStep = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): ComputedStep<P, S> => {
  const before = a.state
  let gradsFinite = true
  const step = a.backend.scoped(() => {
    const g = computeGradients(a.module, before, a.batch, a.ctx, { lossDivisor: a.plan.accumulateGradBatches, precision: a.precision, lossScale: a.lossScale })
    const stepped = accumulateOrStep(a.optimizer, a.precision, before, g.state, g.grads, a.stepping)
    gradsFinite = stepped.gradsFinite
    return { next: stepped.next, loss: g.loss, logs: g.logs }
  })
  return { next: step.next, loss: step.loss, logs: step.logs, gradsFinite }
}

/** After the read: releases the previous generation and checks the loss. */
const finishStep = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>, next: TrainState<P, S>, read: ReadBack, gradsFinite: boolean, batchSize: number): TrainedBatch<P, S> => {
  const loss = read.extra[0] as number
  a.backend.release(a.state, next)
  if (!Number.isFinite(loss) && a.optimizer.guardsNonFinite !== true) {
    a.backend.release(next, [])
    throw nonFiniteLoss(a.ctx, loss, read.logs)
  }
  return { state: next, loss, logs: read.logs, batchSize, gradsFinite }
}

/**
 * One training batch inside the loop: forward and backward, then either an optimizer step or
 * one more addition to the gradient accumulator; then the step's loss and logs are read back in
 * one transfer, and the previous generation is released. The batch is released whatever happens.
 * On a backend without synchronous reads (webgpu) the answer is an Observable of the same.
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
  let step: ComputedStep<P, S>
  let read: ReadBack | Promise<ReadBack>
  try {
    step = computeStep(a)
    next = step.next
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
    return finishStep(a, computed.next, read, computed.gradsFinite, batchSize)
  }
  const pending = read
  return new Observable<TrainedBatch<P, S>>((subscriber) => {
    let cancelled = false
    pending.then(
      (r) => {
        releaseBatch()
        // Unsubscribed while reading: nobody will take the new generation, so release it.
        if (cancelled) return backend.release(computed.next, before)
        let out: TrainedBatch<P, S>
        try {
          out = finishStep(a, computed.next, r, computed.gradsFinite, batchSize)
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
