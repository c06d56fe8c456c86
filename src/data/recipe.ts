import type { BatchingOptions } from './batching.js'
import type { Columns } from './columns.js'

/**
 * A batch source as plain data, which a data-parallel worker thread receives once and builds the
 * same source from: columns of host arrays and how they are batched (`fromArrays`).
 */
export interface SourceRecipe {
  readonly kind: 'arrays'
  readonly columns: Columns
  readonly options: BatchingOptions
}
