import type * as tf from '@tensorflow/tfjs-core'

/**
 * A typed array that can back a column.
 *
 * @example
 * const column = (values: data.ColumnData, shape: number[]): data.Column => ({ data: values, shape })
 * const train = fromArrays({ x: column(images, [784]), y: column(digits, []) }, { batchSize: 64 })
 */
export type ColumnData = Float32Array | Int32Array | Uint8Array | Uint8ClampedArray | Int8Array | Int16Array | Uint16Array

/**
 * One named field of a dataset held in host memory: `data` holds `n * prod(shape)` values,
 * example after example. Values are multiplied by `scale` when a batch is built, so images can
 * stay as bytes and arrive as floats in [0, 1].
 *
 * @example
 * const pixels: data.Column = { data: images, shape: [28, 28, 1], scale: 1 / 255 }   // bytes in, floats in [0, 1] out
 * const train = fromArrays({ x: pixels, y: { data: digits, shape: [], dtype: 'int32' } }, { batchSize: 64 })
 */
export interface Column {
  readonly data: ColumnData
  /** Shape of one example, e.g. `[784]`, `[28, 28, 1]`, or `[]` for a label. */
  readonly shape: readonly number[]
  readonly dtype?: 'float32' | 'int32'
  readonly scale?: number
}

/**
 * A dataset in host memory: its columns by name (`{ x, y }`), every one with the same number of examples.
 *
 * @example
 * const mnist: data.Columns = { x: { data: images, shape: [784], scale: 1 / 255 }, y: { data: digits, shape: [], dtype: 'int32' } }
 * const train = fromArrays(mnist, { batchSize: 128, shuffle: true })
 */
export type Columns = Readonly<Record<string, Column>>

/**
 * A batch of a column set: one tensor per column, batch dimension first.
 *
 * @example
 * const columns = { x: { data: images, shape: [784] }, y: { data: digits, shape: [], dtype: 'int32' as const } }
 * const source: BatchSource<data.ColumnBatch<typeof columns>> = fromArrays(columns, { batchSize: 32 })
 * const size = (b: data.ColumnBatch<typeof columns>) => b.x.shape[0]   // 32 (the last batch may be smaller)
 */
export type ColumnBatch<C extends Columns> = { readonly [K in keyof C]: tf.Tensor }
