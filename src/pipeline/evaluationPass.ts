import { from } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { BatchSource } from '../data/source.js'
import type { Model } from '../nn/layer.js'
import { foldIn, type Key } from '../random/key.js'
import type { Params } from '../tree/tree.js'
import { batchSizeOf, pullBatch, stepError } from './batches.js'
import { type Program, wait } from '../flow/drive.js'
import type { Metrics } from './events.js'
import { addToEpoch, type EpochLogs, epochValues, type Logs, progressBarNames, stepValues } from './logs.js'
import type { Stage } from './module.js'
import { type ReadBack, readBack, readBackAsync } from './readBack.js'
import { sourceEndedEarly } from './sourceEndedEarly.js'

/** One evaluation pass: sanity check, validation inside fit, or a standalone validate/test. */
export interface EvaluationPass<P extends Params, S extends Params, B> {
  readonly stage: Extract<Stage, 'sanity' | 'val' | 'test'>
  readonly source: BatchSource<B>
  readonly numBatches: number
  readonly step: (model: Model<P, S>, batch: B, ctx: import('./module.js').StepContext) => Logs
  readonly model: Model<P, S>
  readonly backend: Backend
  readonly key: Key
  readonly epoch: number
  readonly globalStep: number
  /** The precision policy's compute cast (`StepContext.castCompute`). */
  readonly castCompute?: (x: import('@tensorflow/tfjs-core').Tensor) => import('@tensorflow/tfjs-core').Tensor
  /** Publishes the per-batch progress event. */
  readonly afterBatch: (batchIdx: number, stepMetrics: Metrics) => Program
}

export interface EvaluationResult {
  readonly metrics: Metrics
  readonly progBar: readonly string[]
  /** Batches the pass ran (fewer than asked when a source of unknown length ran out). */
  readonly batches: number
}

/**
 * Runs the evaluation step over `numBatches` batches in their natural order and reduces the
 * logged values per epoch (mean weighted by batch size by default). Every batch and every
 * logged tensor is released as soon as it has been read. A source of unknown length may end
 * before `numBatches` (a limit, such as the sanity check's two batches, is not a length); one
 * that declared its length and ends before it is a `DataError`.
 */
export function* evaluationPass<P extends Params, S extends Params, B>(pass: EvaluationPass<P, S, B>): Program<EvaluationResult> {
  const iterator = pass.source.open({ key: pass.key, noShuffle: true })
  let epochLogs: EpochLogs = new Map()
  const progBar = new Set<string>()
  let batches = 0
  try {
    for (let batchIdx = 0; batchIdx < pass.numBatches; batchIdx++) {
      const pulled = yield* pullBatch(iterator, pass.stage)
      if (pulled.done === true) {
        if (pass.source.numBatches !== undefined) throw sourceEndedEarly(pass.stage, pass.source.numBatches, batchIdx)
        break
      }
      batches++
      const batch = pulled.value
      let stepMetrics: Metrics
      try {
        const ctx = {
          stage: pass.stage,
          training: false,
          key: foldIn(pass.key, batchIdx),
          epoch: pass.epoch,
          batchIdx,
          globalStep: pass.globalStep,
          ...(pass.castCompute !== undefined && { castCompute: pass.castCompute }),
        }
        const logs = pass.backend.scoped(() => pass.step(pass.model, batch, ctx))
        const request = { logs, defaults: { onStep: false, onEpoch: true }, batchSize: batchSizeOf(batch), extra: [], keep: pass.model }
        const read = pass.backend.hostReads ? readBack(pass.backend, request).logs : ((yield* wait(from(readBackAsync(pass.backend, request)))) as ReadBack).logs
        epochLogs = addToEpoch(epochLogs, read)
        for (const name of progressBarNames(read, 'epoch')) progBar.add(name)
        stepMetrics = stepValues(read)
      } catch (e) {
        throw stepError(pass.stage, pass.epoch, batchIdx, batch, e)
      } finally {
        pass.backend.dispose(batch)
      }
      yield* pass.afterBatch(batchIdx, stepMetrics)
    }
  } finally {
    iterator.close()
  }
  return { metrics: epochValues(epochLogs), progBar: [...progBar], batches }
}
