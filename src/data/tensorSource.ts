import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { permutation } from '../random/sample.js'
import { batchCount, type BatchingOptions, validateBatching } from './batching.js'
import { type BatchSource, done } from './source.js'

/**
 * A dataset already in the engine: tensors by name, the first dimension indexing examples.
 *
 * @example
 * const columns: data.TensorColumns = { x: tf.randomNormal([100, 3]), y: tf.zeros([100, 1]) }
 * const source = fromTensors(columns, { batchSize: 10, shuffle: true })
 */
export type TensorColumns = Readonly<Record<string, tf.Tensor>>
/**
 * A batch of `fromTensors`: one tensor per column, batch dimension first.
 *
 * @example
 * const columns = { x: tf.randomNormal([100, 3]), y: tf.zeros([100, 1]) }
 * const source: BatchSource<data.TensorBatch<typeof columns>> = fromTensors(columns, { batchSize: 10 })
 */
export type TensorBatch<C extends TensorColumns> = { readonly [K in keyof C]: tf.Tensor }

/**
 * Batches sliced from tensors that are already in the engine (first dimension = examples).
 * The source borrows the tensors: it never disposes them, and each batch is a new tensor the
 * consumer owns. Shuffling follows the pass's key, as in `fromArrays`.
 *
 * @example
 * const source = fromTensors({ x: tf.randomNormal([100, 3]), y: tf.zeros([100, 1]) }, { batchSize: 10 })
 */
export const fromTensors = <C extends TensorColumns>(columns: C, options: BatchingOptions): BatchSource<TensorBatch<C>> => {
  validateBatching(options)
  const entries = Object.entries(columns)
  const first = entries[0]
  if (first === undefined) throw rxtrainError('DataError', 'no tensors given', 'pass at least one tensor, e.g. { x, y }.')
  const n = first[1].shape[0] ?? 0
  for (const [name, t] of entries)
    if (t.rank === 0 || t.shape[0] !== n)
      throw rxtrainError(
        'DataError',
        `tensor ${name} has shape [${t.shape.join(',')}] but ${first[0]} has ${n} examples`,
        'give every tensor the same first (example) dimension.',
        { column: name },
      )
  const numBatches = batchCount(n, options)
  return {
    numBatches,
    open: (order) => {
      const perm = options.shuffle === true && order.noShuffle !== true ? permutation(order.key, n) : undefined
      let b = order.skipBatches ?? 0
      return {
        next: () => {
          if (b >= numBatches) return done
          const from = b * options.batchSize
          const size = Math.min(n, from + options.batchSize) - from
          b++
          const batch: Record<string, tf.Tensor> = {}
          if (perm === undefined) for (const [name, t] of entries) batch[name] = tf.slice(t, from, size)
          else
            tf.tidy(() => {
              const idx = tf.tensor1d(perm.subarray(from, from + size), 'int32')
              for (const [name, t] of entries) batch[name] = tf.keep(tf.gather(t, idx))
            })
          return { done: false, value: batch as TensorBatch<C> }
        },
        close: () => {
          b = numBatches
        },
      }
    },
  }
}
