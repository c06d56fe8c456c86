// The data loader's worker thread (`workers: 1`); a browser bundle's version refuses it with a remedy.
export type { BatchArrays, RowGatherer, RowsWorker, SharedColumn } from '#platform/rowsWorker.js'
export { sharedView, startRowsWorker } from '#platform/rowsWorker.js'
