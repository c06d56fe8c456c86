import type * as tf from '@tensorflow/tfjs-core'

/** A typed array that can back a column. */
export type ColumnData = Float32Array | Int32Array | Uint8Array | Uint8ClampedArray | Int8Array | Int16Array | Uint16Array

/**
 * One named field of a dataset held in host memory: `data` holds `n * prod(shape)` values,
 * example after example. Values are multiplied by `scale` when a batch is built, so images can
 * stay as bytes and arrive as floats in [0, 1].
 */
export interface Column {
  readonly data: ColumnData
  /** Shape of one example, e.g. `[784]`, `[28, 28, 1]`, or `[]` for a label. */
  readonly shape: readonly number[]
  readonly dtype?: 'float32' | 'int32'
  readonly scale?: number
}

/** A dataset in host memory: its columns by name (`{ x, y }`), every one with the same number of examples. */
export type Columns = Readonly<Record<string, Column>>

/** A batch of a column set: one tensor per column, batch dimension first. */
export type ColumnBatch<C extends Columns> = { readonly [K in keyof C]: tf.Tensor }
