import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { permutation } from '../random/sample.js'
import { type BatchSource, done } from './source.js'
import { batchCount, batchRows, type BatchingOptions, validateBatching } from './batching.js'
import { shardRange } from './shardRows.js'

export type { Column, ColumnBatch, ColumnData, Columns } from './columns.js'
import type { Column, ColumnBatch, ColumnData, Columns } from './columns.js'

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

const gatherRows = (c: Column, indices: Int32Array, from: number, to: number): tf.Tensor => {
  const size = rowSize(c)
  const dtype = c.dtype ?? 'float32'
  const out = dtype === 'int32' ? new Int32Array((to - from) * size) : new Float32Array((to - from) * size)
  const scale = c.scale ?? 1
  for (let i = from; i < to; i++) {
    const src = (indices[i] as number) * size
    const dst = (i - from) * size
    if (scale === 1) out.set(c.data.subarray(src, src + size), dst)
    else for (let j = 0; j < size; j++) out[dst + j] = (c.data[src + j] as number) * scale
  }
  return tf.tensor(out, [to - from, ...c.shape], dtype)
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
  return {
    numBatches,
    recipe: { kind: 'arrays', columns, options },
    open: (order) => {
      const indices = options.shuffle === true && order.noShuffle !== true ? permutation(order.key, n) : natural
      let b = order.skipBatches ?? 0
      return {
        next: () => {
          if (b >= numBatches) return done
          const rows = batchRows(n, options, b)
          const [from, to] = order.shard === undefined ? rows : shardRange(rows[0], rows[1], order.shard)
          b++
          const batch: Record<string, tf.Tensor> = {}
          for (const [name, c] of Object.entries(columns)) batch[name] = gatherRows(c, indices, from, to)
          return { done: false, value: batch as ColumnBatch<C> }
        },
        close: () => {
          b = numBatches
        },
      }
    },
  }
}
