import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { permutation } from '../random/sample.js'
import { type BatchSource, done } from './source.js'
import { batchCount, batchRows, type BatchingOptions, validateBatching } from './batching.js'
import { type RowGatherer, sharedView, startRowsWorker } from '../effects/rowsWorker.js'
import { gatherRowsInto } from './gatherRows.js'
import { shardRange } from './shardRows.js'

export type { Column, ColumnBatch, ColumnData, Columns } from './columns.js'
import type { Column, ColumnBatch, Columns } from './columns.js'

const rowSize = (c: Column): number => c.shape.reduce((a, b) => a * b, 1)

/** The number of examples in the columns, or an error if they disagree. */
export const exampleCount = (columns: Columns): number => {
  const counts = Object.entries(columns).map(([name, c]) => {
    const size = rowSize(c)
    if (size === 0 || c.data.length % size !== 0)
      throw rxtrainError(
        'DataError',
        `column ${name} has ${c.data.length} values, not a multiple of its example size ${size} (shape [${c.shape.join(',')}])`,
        'give each column the shape of ONE example (without the batch dimension).',
        { column: name },
      )
    return [name, c.data.length / size] as const
  })
  const first = counts[0]
  if (first === undefined) throw rxtrainError('DataError', 'no columns given', 'pass at least one column, e.g. { x, y }.')
  for (const [name, n] of counts)
    if (n !== first[1])
      throw rxtrainError(
        'DataError',
        `column ${name} has ${n} examples but ${first[0]} has ${first[1]}`,
        'give every column the same number of examples.',
        { column: name },
      )
  return first[1]
}

/** The values of a column's rows `indices[from..to)`, as the column's dtype asks (float32 by default). */
export const columnRows = (c: Column, indices: Int32Array, from: number, to: number): Float32Array | Int32Array => {
  const size = rowSize(c)
  const out = (c.dtype ?? 'float32') === 'int32' ? new Int32Array((to - from) * size) : new Float32Array((to - from) * size)
  gatherRowsInto(out, c.data, indices, from, to, size, c.scale ?? 1)
  return out
}

/**
 * Batches from columns of host arrays. Each batch is built when pulled (one copy of the batch's
 * rows), so the dataset itself never lives in the tensor engine. With `shuffle`, each pass uses a
 * permutation drawn from the pass's key: the same seed gives the same order. A pass opened for one
 * data-parallel rank (`order.shard`) builds only that rank's rows of each batch; the source's
 * `recipe` lets each worker thread build the same source, and so load its own rows.
 *
 * @example
 * const source = fromArrays(
 *   { x: { data: images, shape: [784], scale: 1 / 255 }, y: { data: digits, shape: [], dtype: 'int32' } },
 *   { batchSize: 32, shuffle: true },
 * )
 */
export const fromArrays = <C extends Columns>(columns: C, options: BatchingOptions): BatchSource<ColumnBatch<C>> => {
  validateBatching(options)
  const n = exampleCount(columns)
  const numBatches = batchCount(n, options)
  const natural = Int32Array.from({ length: n }, (_, i) => i)
  const entries = Object.entries(columns)
  return {
    numBatches,
    recipe: { kind: 'arrays', columns, options },
    open: (order) => {
      const indices = options.shuffle === true && order.noShuffle !== true ? permutation(order.key, n) : natural
      let b = order.skipBatches ?? 0
      const rowsOf = (batch: number): readonly [number, number] => {
        const rows = batchRows(n, options, batch)
        return order.shard === undefined ? rows : shardRange(rows[0], rows[1], order.shard)
      }
      // A data-parallel rank builds its own shard in its own thread already: no worker there.
      const worker = (options.workers ?? 0) > 0 && order.shard === undefined && b < numBatches ? rowsWorkerFor(entries, indices, numBatches, rowsOf, b) : undefined
      return {
        next: () => {
          if (b >= numBatches) return done
          const [from, to] = rowsOf(b)
          const built = worker?.take(b)
          worker?.taken(b)
          b++
          const batch: Record<string, tf.Tensor> = {}
          for (const [name, c] of entries) {
            const values = built?.[name] ?? columnRows(c, indices, from, to)
            batch[name] = tf.tensor(values, [to - from, ...c.shape], c.dtype ?? 'float32')
          }
          return { done: false, value: batch as ColumnBatch<C> }
        },
        close: () => {
          b = numBatches
          worker?.close()
        },
      }
    },
  }
}

/** A worker thread that builds this pass's batches from `first` on, ahead of the loop (`workers: 1`). */
const rowsWorkerFor = (entries: readonly (readonly [string, Column])[], indices: Int32Array, numBatches: number, rowsOf: (b: number) => readonly [number, number], first: number) => {
  const batches = new Int32Array(2 * numBatches)
  for (let k = 0; k < numBatches; k++) [batches[2 * k], batches[2 * k + 1]] = rowsOf(k)
  const columns = entries.map(([name, c]) => ({ name, data: sharedView(c.data), size: rowSize(c), scale: c.scale ?? 1, int32: c.dtype === 'int32' }))
  return startRowsWorker(gatherRowsInto as RowGatherer, columns, indices, batches, first, WORKER_DEPTH)
}

/** Batches a loader worker builds ahead of the one being trained on (bounded memory, as `withPrefetch`). */
const WORKER_DEPTH = 3
