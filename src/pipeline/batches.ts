import * as tf from '@tensorflow/tfjs-core'
import { isObservable, take } from 'rxjs'
import type { BatchIterator } from '../data/source.js'
import { isRxtrainError, messageOf, type RxtrainError, RxtrainError as ErrorClass, rxtrainError } from '../errors/rxtrainError.js'
import { tensorsOf } from '../tree/tree.js'
import { type Program, wait } from '../flow/drive.js'
import type { Stage } from './module.js'

/** Pulls one batch, waiting if the source answers asynchronously. */
export function* pullBatch<B>(iterator: BatchIterator<B>, stage: Stage): Program<IteratorResult<B, undefined>> {
  const pull = iterator.next()
  if (!isObservable(pull)) return pull
  const result = yield* wait(pull.pipe(take(1)))
  if (result === undefined)
    throw rxtrainError('DataError', `the ${stage} source completed a pull without a result`, 'a pull must emit one IteratorResult.')
  return result
}

/** The number of examples in a batch: the first dimension of its first tensor. */
export const batchSizeOf = (batch: unknown): number => {
  const first = tensorsOf(batch)[0]
  return first === undefined ? 1 : first.rank === 0 ? 1 : (first.shape[0] ?? 1)
}

const describeBatch = (batch: unknown): string => {
  if (batch instanceof tf.Tensor) return `[${batch.shape.join(',')}] ${batch.dtype}`
  if (typeof batch === 'object' && batch !== null)
    return Object.entries(batch)
      .map(([k, v]) => (v instanceof tf.Tensor ? `${k} [${v.shape.join(',')}] ${v.dtype}` : `${k}`))
      .join(', ')
  return typeof batch
}

/**
 * An error raised inside a step, with where it happened. rxtrain's own errors keep their tag
 * and remedy; anything else (a tfjs shape error) becomes a `StepError` that names the batch.
 */
export const stepError = (stage: Stage, epoch: number, batchIdx: number, batch: unknown, cause: unknown): RxtrainError => {
  const where = `${stage} step at epoch ${epoch}, batch ${batchIdx} (batch: ${describeBatch(batch)})`
  if (isRxtrainError(cause))
    return new ErrorClass(cause.tag, `${where}: ${cause.problem}`, cause.remedy, { ...cause.details, stage, epoch, batchIdx })
  return rxtrainError(
    'StepError',
    `${where} failed: ${messageOf(cause)}`,
    "check that the batch's shapes and dtypes fit the model (the layer sizes, the label format) and that the step returns a scalar loss.",
    { stage, epoch, batchIdx, cause },
  )
}
