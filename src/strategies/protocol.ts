import type { BackendName } from '../backends/backend.js'
import type { LossScale, PrecisionName } from '../backends/precision.js'
import type { ReadLog } from '../pipeline/logs.js'
import type { Stage } from '../pipeline/module.js'
import type { ShardOf } from '../data/shardRows.js'
import type { SourceRecipe } from '../data/sourceRecipe.js'
import type { BatchData } from './batchShards.js'

/** Where each variable lies in the shared parameter buffer (float32 words). */
export interface SharedLeaf {
  readonly group: 'params' | 'state'
  readonly path: string
  readonly shape: readonly number[]
  readonly offset: number
  readonly size: number
}

export interface SharedLayout {
  readonly leaves: readonly SharedLeaf[]
  /** Words of the parameter leaves (the gradient slot size). */
  readonly paramWords: number
  /** Words of all leaves, parameters then state. */
  readonly totalWords: number
}

/** A training step's context, as plain data. */
export interface StepContextData {
  readonly stage: Stage
  readonly training: boolean
  readonly key: readonly [number, number]
  readonly epoch: number
  readonly batchIdx: number
  readonly globalStep: number
}

/** What the main thread tells a worker. */
export type ToWorker =
  | {
      readonly type: 'init'
      readonly rank: number
      readonly backend: BackendName
      readonly precision: PrecisionName
      readonly moduleUrl: string
      readonly exportName: string
      readonly layout: SharedLayout
      readonly variables: SharedArrayBuffer
      readonly gradients: SharedArrayBuffer
    }
  | {
      /**
       * A pass over the training data begins: the worker opens it for its own rows (with the
       * source's recipe the first time), and takes each step's rows from it.
       */
      readonly type: 'open'
      readonly recipe?: SourceRecipe
      readonly order: { readonly key: readonly [number, number]; readonly noShuffle?: boolean; readonly skipBatches?: number; readonly epoch?: number }
      readonly shard: ShardOf
    }
  | {
      readonly type: 'step'
      /** Increments whenever the main thread rewrote the shared variables. */
      readonly version: number
      /** This rank's rows, cut by the main thread; absent when the worker loads its own (`open`). */
      readonly batch?: BatchData
      /** The rows the main thread expects this rank's shard to have. */
      readonly size: number
      readonly ctx: StepContextData
      /** The run's `accumulateGradBatches` (the worker builds the same step). */
      readonly accumulateGradBatches: number
      /** This rank's share of the global batch: its objective is weighted by it. */
      readonly lossWeight: number
      readonly lossScale: LossScale
    }

/** A step's logs, read back, without their tensors. */
export type ReadLogData = Omit<ReadLog, 'pending'> & { readonly pending: Omit<ReadLog['pending'], 'source'> & { readonly source: number } }

/** What a worker tells the main thread. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly loss: number; readonly logs: readonly ReadLogData[] }
  | { readonly type: 'failed'; readonly message: string; readonly tag?: string; readonly problem?: string; readonly remedy?: string }
