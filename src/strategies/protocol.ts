import type { BackendName } from '../backends/backend.js'
import type { LossScale, PrecisionName } from '../backends/precision.js'
import type { ClipOptions } from '../pipeline/effectiveOptimizer.js'
import type { ReadLog } from '../pipeline/logs.js'
import type { Stage } from '../pipeline/module.js'
import type { LoopPlan } from '../pipeline/plan.js'
import type { BatchData } from './batchShards.js'

/** Where one tensor of the training state lies in the shared state buffer (float32 words). */
export interface SharedLeaf {
  readonly group: 'params' | 'state' | 'opt'
  readonly path: string
  readonly shape: readonly number[]
  readonly offset: number
  readonly size: number
}

/**
 * The shared state buffer: the parameters, the module state and the optimizer state's tensors
 * (in that order), then room for a gradient accumulator shaped like the parameters.
 */
export interface SharedLayout {
  readonly leaves: readonly SharedLeaf[]
  /** Words of the parameter leaves (the size of a gradient slot and of the accumulator). */
  readonly paramWords: number
  /** Where the gradient accumulator starts. */
  readonly accumulatorOffset: number
  /** Words of the whole buffer. */
  readonly totalWords: number
}

/** A step's context, as plain data. */
export interface StepContextData {
  readonly stage: Stage
  readonly training: boolean
  readonly key: readonly [number, number]
  readonly epoch: number
  readonly batchIdx: number
  readonly globalStep: number
}

/**
 * Words of the shared control array: per rank, the sequence number of the step whose gradients
 * it has written to its slot; then the abort flag.
 */
export const controlWords = (devices: number): number => devices + 1

/** What the updating rank (rank 1) is told besides its own shard. */
export interface UpdateOrder {
  /** Whether this batch ends with an optimizer step (else its gradients accumulate). */
  readonly stepping: boolean
  /** The ranks whose gradient slots it sums, in rank order (itself included when it has a shard). */
  readonly ranks: readonly number[]
  /** The shared state's version once the update is written. */
  readonly nextVersion: number
  /**
   * The optimizer state's structure (`toTemplate`) and whether an accumulator is open, when the
   * shared state was rewritten by the main thread (the worker rebuilds its state from it).
   */
  readonly rebuild?: { readonly optTemplate: unknown; readonly accumulating: boolean }
}

/** What the main thread tells a worker. */
export type ToWorker =
  | {
      readonly type: 'init'
      readonly rank: number
      readonly devices: number
      readonly backend: BackendName
      readonly precision: PrecisionName
      readonly moduleUrl: string
      readonly exportName: string
      readonly layout: SharedLayout
      readonly variables: SharedArrayBuffer
      readonly gradients: SharedArrayBuffer
      readonly control: SharedArrayBuffer
      /** What rank 1 needs to rebuild the run's optimizer. */
      readonly clip: ClipOptions
      readonly plan: LoopPlan
    }
  | {
      readonly type: 'step'
      /** Increments whenever the shared parameters, optimizer state or accumulator change. */
      readonly version: number
      /** Increments whenever the shared module state changes. */
      readonly stateVersion: number
      /** This step's sequence number (what the control array's entries are compared with). */
      readonly seq: number
      /** The rank's shard; undefined for rank 1 when the batch is too small to feed it. */
      readonly batch: BatchData | undefined
      readonly ctx: StepContextData
      readonly lossDivisor: number
      readonly lossScale: LossScale
      readonly update?: UpdateOrder
    }

/** A step's logs, read back, without their tensors. */
export type ReadLogData = Omit<ReadLog, 'pending'> & { readonly pending: Omit<ReadLog['pending'], 'source'> & { readonly source: number } }

/** What rank 1 reports of its update. */
export interface UpdateReport {
  readonly gradsFinite: boolean
  /** The new optimizer state's structure (its tensors are in the shared buffer). */
  readonly optTemplate: unknown
  /** Whether a gradient accumulator is open (its sum is in the shared buffer). */
  readonly accumulating: boolean
}

/** What a worker tells the main thread. */
export type FromWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done'
      /** The shard's loss and logs; absent when the rank had no shard. */
      readonly loss?: number
      readonly logs: readonly ReadLogData[]
      readonly update?: UpdateReport
    }
  | { readonly type: 'failed'; readonly message: string; readonly tag?: string; readonly problem?: string; readonly remedy?: string }
