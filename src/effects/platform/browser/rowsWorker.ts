import type { RowGatherer, RowsWorker, SharedColumn } from '../node/rowsWorker.js'

export type { BatchArrays, RowGatherer, RowsWorker, SharedColumn } from '../node/rowsWorker.js'

/** In a page the columns stay where they are: no worker reads them. */
export const sharedView = <T extends Float32Array | Int32Array | Uint8Array | Uint8ClampedArray | Int8Array | Int16Array | Uint16Array>(data: T): T => data

/**
 * No loader worker in a page (`workers: 1` is Node's worker thread): undefined, which the loader
 * takes as "build every batch on the training thread", with the same values.
 */
export const startRowsWorker = (_gather: RowGatherer, _columns: readonly SharedColumn[], _indices: Int32Array, _batches: Int32Array, _first: number, _depth: number): RowsWorker | undefined => undefined
