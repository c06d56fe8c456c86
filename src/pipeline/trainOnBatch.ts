import type * as tf from '@tensorflow/tfjs-core'
import { from, Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { LossScale, Precision } from '../backends/precision.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Key } from '../random/key.js'
import type { Params, StateTree } from '../tree/tree.js'
import { batchSizeOf, stepError } from './batches.js'
import type { TrainState } from './events.js'
import { pendingLogs, type ReadLog } from './logs.js'
import type { Module, ParamGroups } from './module.js'
import { nonFiniteLoss } from './nonFiniteLoss.js'
import type { LoopPlan } from './plan.js'
import { collectReads, deferReads, type ReadBack, readAllAsync, readBack } from './readBack.js'
import { applyGradients, type StepResult, type TrainStep, trainStep } from './step.js'
import { trainState, type TrainStepContext, type Updated } from './stepParts.js'
import { checkUnread, releaseUnread, type UnreadStep } from './unreadSteps.js'

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

/**
 * A training batch's context in the loop, always in one shape: it is built once per step, and an
 * object spread there (of the precision's compute cast) would take V8's slow path.
 */
export const loopStepContext = (
  key: Key,
  epoch: number,
  batchIdx: number,
  globalStep: number,
  lossScale: LossScale,
  optimizerStep: boolean,
  castCompute: ((x: tf.Tensor) => tf.Tensor) | undefined,
): LoopStepContext =>
  castCompute === undefined
    ? { stage: 'train', training: true, key, epoch, batchIdx, globalStep, lossScale, optimizerStep }
    : { stage: 'train', training: true, key, epoch, batchIdx, globalStep, castCompute, lossScale, optimizerStep }

export interface TrainOnBatch<P extends Params, S extends Params, B> extends StepArgs<P, S, B> {
  readonly backend: Backend
  readonly state: TrainState<P, S>
  /** Owned by this call: released before it returns. */
  readonly batch: B
  readonly ctx: LoopStepContext
  /**
   * The loop needs nothing from this step now (`valuesNotNeeded`). On a backend without host
   * reads, a step that also logs nothing per epoch and has no finiteness flag to read is then
   * not read: its values stay on the device (`unread`), and the answer is synchronous.
   */
  readonly deferRead?: boolean
  /** Earlier steps not read yet: read in this step's transfer, or handed back with it (`unread`). Owned by this call. */
  readonly unread?: readonly UnreadStep[]
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
  /**
   * The steps whose values are still on the device, this one last if it was not read (then its
   * `loss` is NaN and `logs` empty); absent or empty when everything was read.
   */
  readonly unread?: readonly UnreadStep[]
  /** The logs of the earlier unread steps, read with this one, in order. */
  readonly lateLogs?: readonly (readonly ReadLog[])[]
}

export { nonFiniteLoss } from './nonFiniteLoss.js'

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
): ClosedWindow<P, S> | undefined => {
  const pending = before.gradAccumulator ?? null
  if (pending === null) return undefined
  const emptied = trainState(before.params, before.state, before.optState, null)
  const closed: Updated<P, S> = step
    ? backend.scoped(() => applyGradients(trainStep<P, S, unknown>(groups === undefined ? updateOnly : { ...updateOnly, groups }, optimizer, { precision }), emptied, { grads: pending, state: before.state }, { batchIdx: -1, lossScale, optimizerStep: true }))
    : { state: emptied, gradsFinite: true, stepped: false, lossScale }
  backend.release(before, closed.state)
  const decided = closed.finiteFlag === undefined ? {} : { finiteFlag: closed.finiteFlag, settle: (flags: readonly boolean[]) => settledStep(closed, flags, precision, lossScale) }
  return { next: closed.state, stepped: step, gradsFinite: closed.gradsFinite, lossScale: closed.lossScale, ...decided }
}

/** A closed window (`closeWindow`): with device decisions, provisional until `settle` takes its flags (read by the loop, then disposed). */
export interface ClosedWindow<P extends Params, S extends Params> {
  readonly next: TrainState<P, S>
  readonly stepped: boolean
  readonly gradsFinite: boolean
  readonly lossScale: LossScale
  readonly finiteFlag?: tf.Tensor
  readonly settle?: (flags: readonly boolean[]) => { readonly state: TrainState<P, S>; readonly gradsFinite: boolean; readonly lossScale: LossScale }
}

/**
 * A closed window whose step decided on the device, settled: its flags read back (then released)
 * and its state, `gradsFinite` and loss scale taken from `settle`.
 */
export const settleWindow = <P extends Params, S extends Params>(backend: Backend, precision: Precision, closed: ClosedWindow<P, S>, lossScale: LossScale): Observable<ClosedWindow<P, S>> =>
  from(
    (async () => {
      const flag = closed.finiteFlag
      if (flag === undefined) return closed
      const values = await backend.readScalarsAsync([flag]).finally(() => flag.dispose())
      const settled = settledStep({ state: closed.next, settle: closed.settle }, values.map((v) => v !== 0), precision, lossScale)
      return { next: settled.state, stepped: closed.stepped, gradsFinite: settled.gradsFinite, lossScale: settled.lossScale }
    })(),
  )

/** A step's state, `gradsFinite` and next loss scale once its device flags are read (`settle`, or all flags finite). */
const settledStep = <P extends Params, S extends Params>(step: { readonly state: TrainState<P, S>; readonly settle?: Updated<P, S>['settle'] | undefined }, flags: readonly boolean[], precision: Precision, lossScale: LossScale | undefined) =>
  step.settle?.(flags) ?? { state: step.state, gradsFinite: flags.every((f) => f), lossScale: precision.nextScale(lossScale ?? precision.initScale(), flags.every((f) => f)) }

/** The step run on the device (the exported `trainStep`), before its scalars are read back. */
const computeStep = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): StepResult<P, S> => {
  const step = stepOf(a)
  return a.backend.scoped(() => step(a.state, a.batch, a.ctx))
}

/**
 * After the read: releases the previous generation and checks the losses (the earlier unread
 * steps' first, in order). Finiteness flags read with the loss settle the step (`settle`: its
 * host values, `gradsFinite`, the next loss scale); a step with flags and no `settle` is finite
 * when every flag is, and moves the loss scale it was given.
 */
const finishStep = <P extends Params, S extends Params, B>(
  a: TrainOnBatch<P, S, B>,
  step: StepResult<P, S>,
  read: ReadBack,
  batchSize: number,
  late: readonly ReadBack[] = [],
): TrainedBatch<P, S> => {
  const loss = read.extra[0] as number
  // Decisions taken on the device: their flags came with the loss; the step settles on them.
  const flags = step.finiteFlag === undefined ? undefined : read.extra.slice(1).map((v) => v !== 0)
  const settled = flags === undefined ? step : settledStep(step, flags, a.precision, a.ctx.lossScale)
  const next = settled.state
  a.backend.release(a.state, next)
  try {
    late.forEach((r, i) => checkUnread((a.unread ?? [])[i] as UnreadStep, r))
    if (!Number.isFinite(loss) && a.optimizer.guardsNonFinite !== true) throw nonFiniteLoss(a.ctx, loss, read.logs)
  } catch (e) {
    a.backend.release(next, [])
    throw e
  }
  return { state: next, loss, logs: read.logs, batchSize, gradsFinite: settled.gradsFinite, lossScale: settled.lossScale, ...(late.length > 0 && { lateLogs: late.map((r) => r.logs) }) }
}

const readDefaults = { onStep: true, onEpoch: false } as const

/** Whether a step's logs have a value that counts in the epoch's aggregate (which the loop state must hold at once). */
const logsPerEpoch = (step: StepResult<Params, Params>, batchSize: number): boolean =>
  step.logs !== undefined && pendingLogs(step.logs, readDefaults, batchSize).some((p) => p.onEpoch)

/**
 * One training batch inside the loop: the run's `trainStep` (forward and backward, then either an
 * optimizer step or one more addition to the gradient accumulator); then the step's loss and logs
 * are read back in one transfer, and the previous generation is released. The batch is released
 * whatever happens. On a backend without synchronous reads (webgpu) the answer is an Observable of
 * the same, or, for a step whose values are not needed now (`deferRead`), a synchronous answer
 * that leaves them on the device (`unread`) to be read with a later step's.
 */
export const trainOnBatch = <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): TrainedBatch<P, S> | Observable<TrainedBatch<P, S>> => {
  const { backend, ctx } = a
  const before = a.state
  const earlier = a.unread ?? []
  const batchSize = batchSizeOf(a.batch)
  let next: TrainState<P, S> | undefined
  const releaseBatch = () => backend.release(a.batch, [before, next])
  const failed = (e: unknown) => {
    if (next !== undefined) backend.release(next, before)
    return stepError('train', ctx.epoch, ctx.batchIdx, a.batch, e)
  }
  let step: StepResult<P, S>
  let read: ReadBack | Promise<ReadBack[]>
  try {
    step = computeStep(a)
    next = step.state
    const flag = step.finiteFlag
    // Read before releasing: a logged value may be a tensor of the previous generation.
    const request = { logs: step.logs, defaults: readDefaults, batchSize, extra: flag === undefined ? [step.loss] : [step.loss, flag], keep: [before, next, a.batch] }
    if (a.deferRead === true && !backend.hostReads && flag === undefined && !logsPerEpoch(step, batchSize)) {
      const unread: UnreadStep = { ctx, guardsNonFinite: a.optimizer.guardsNonFinite === true, reads: deferReads(request) }
      releaseBatch()
      backend.release(before, next)
      return { state: next, loss: Number.NaN, logs: [], batchSize, gradsFinite: step.gradsFinite, lossScale: step.lossScale, unread: [...earlier, unread] }
    }
    read = backend.hostReads && earlier.length === 0 ? readBack(backend, request) : readAllAsync(backend, [...earlier.map((u) => u.reads), collectReads(request)])
  } catch (e) {
    const error = failed(e)
    releaseBatch()
    releaseUnread(earlier)
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
          out = finishStep(a, computed, r.at(-1) as ReadBack, batchSize, r.slice(0, -1))
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
