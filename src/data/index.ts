/**
 * Data: a `DataModule` holds `BatchSource`s (Lightning's dataloaders), each a restartable
 * sequence of batches pulled one at a time. The ready-made sources (`fromArrays`, `fromTensors`,
 * `fromDataset`, `withPrefetch`) are also exported at the package root; this module adds what
 * writing a source of your own takes (`BatchIterator`, `PassOrder`, `Pull`, `done`), the column
 * types, IDX decoding and MNIST (`loadMnistPackage`, `mnistDataModule`). The package root
 * re-exports it as `data`.
 *
 * @example
 * import { data, effects } from 'rxtrain'
 * const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()   // Either<DataError | FileError, MnistArrays>
 * // a source of your own: a fixed list of batches, in order
 * const listSource = <B>(batches: readonly B[]): data.BatchSource<B> => ({
 *   numBatches: batches.length,
 *   open: ({ skipBatches = 0 }) => {
 *     let i = skipBatches
 *     return { next: () => (i < batches.length ? { done: false, value: batches[i++] as B } : data.done), close: () => {} }
 *   },
 * })
 */
export type { Column, ColumnBatch, ColumnData, Columns } from './columns.js'
export { fromArrays } from './arraySource.js'
export type { BatchingOptions } from './batching.js'
export type { DataModule } from './dataModule.js'
export type { DatasetSourceOptions } from './datasetSource.js'
export { fromDataset } from './datasetSource.js'
export type { IdxArray } from './idx.js'
export { decodeIdx } from './idx.js'
export type { MnistArrays, MnistBatch, MnistOptions, MnistSplit } from './mnist.js'
export { loadMnist, loadMnistPackage, mnistDataModule } from './mnist.js'
export { withPrefetch } from './prefetch.js'
export type { BatchIterator, BatchSource, PassOrder, Pull } from './source.js'
export { done } from './source.js'
export type { TensorBatch, TensorColumns } from './tensorSource.js'
export { fromTensors } from './tensorSource.js'
