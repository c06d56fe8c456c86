import { from, map, type Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { LoopState } from '../core/loopState.js'
import { type ReadLog, stepValues } from './logs.js'
import type { StepContext } from './module.js'
import { nonFiniteLoss } from './nonFiniteLoss.js'
import type { LoopPlan } from './plan.js'
import { type PendingReads, type ReadBack, readAllAsync } from './readBack.js'
import { batchTrained, nextAction, shouldLogStep } from './schedule.js'

/**
 * A training step whose loss and logged values were left on the device (a backend without host
 * reads, on a step whose values nobody needed then): they are read with the next read, in the
 * same transfer, and checked then. Its `reads` own the tensors (clones of the state's).
 */
export interface UnreadStep {
  /** Where the step ran: a non-finite loss found later names it. */
  readonly ctx: StepContext
  /** The optimizer skips non-finite steps itself (`applyIfFinite`): a non-finite loss does not fail the run. */
  readonly guardsNonFinite: boolean
  /** The loss first, then the logged tensors. */
  readonly reads: PendingReads
}

/**
 * Whether the loop needs nothing from the step of `batchIdx` once it is done (given the loop
 * state before it): it writes no row (`shouldLog`), and the loop goes on with the next batch
 * (no validation, no end of the epoch, no stop). What the step itself adds (epoch-level logs, a
 * finiteness flag) is checked by the step's runner. A stop that a hook asks for on the step's
 * event, or a signal, is found after it: the loop then reads before it acts.
 */
export const valuesNotNeeded = (plan: LoopPlan, before: LoopState, batchIdx: number, stepping: boolean): boolean => {
  const after = batchTrained(before, { batchIdx, stepping, logs: [], stepMetrics: {}, lossScale: before.lossScale })
  return !shouldLogStep(plan, after, stepping) && nextAction(plan, after, false).type === 'trainBatch'
}

/** Throws the run's error for a step read late whose loss is not finite (as the step would have, read at once). */
export const checkUnread = (step: UnreadStep, read: ReadBack): void => {
  const loss = read.extra[0] as number
  if (!Number.isFinite(loss) && !step.guardsNonFinite) throw nonFiniteLoss(step.ctx, loss, read.logs)
}

/** Releases the tensors of steps that will never be read (the run failed or was cancelled). */
export const releaseUnread = (steps: readonly UnreadStep[]): void => {
  for (const s of steps) s.reads.finish(undefined)
}

/**
 * Reads the steps' values in one transfer (started at once; the tensors are released when it
 * ends, whoever still listens), checks their losses in order, and answers each step's logs.
 */
export const readUnread = (backend: Backend, steps: readonly UnreadStep[]): Observable<ReadLog[][]> => {
  const reading = readAllAsync(
    backend,
    steps.map((s) => s.reads),
  )
  // Unsubscribed before it ends: the failure (if any) has nobody to reach.
  reading.catch(() => undefined)
  return from(reading).pipe(
    map((backs) => {
      backs.forEach((b, i) => checkUnread(steps[i] as UnreadStep, b))
      return backs.map((b) => b.logs)
    }),
  )
}

/**
 * The loop state with the per-step values of steps read late folded in, in order, as each of
 * their steps would have left them (`lastStepMetrics`, the only part of the loop state that such
 * a step's values change).
 */
export const withLateValues = (s: LoopState, logs: readonly (readonly ReadLog[])[]): LoopState => {
  let last = s.lastStepMetrics
  for (const l of logs) {
    const values = stepValues(l)
    if (Object.keys(values).length > 0) last = { ...last, ...values }
  }
  return last === s.lastStepMetrics ? s : { ...s, lastStepMetrics: last }
}
