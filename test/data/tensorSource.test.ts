import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromTensors } from '../../src/data/tensorSource.js'
import { hasTag, isRxtrainError } from '../../src/errors/rxtrainError.js'
import { foldIn, key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { disposeAll, drain, numTensors, pass, resolvePull, values } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const n = 11
/** x row i = [10i, 10i + 1] (float), y = i (int32). */
let x: tf.Tensor
let y: tf.Tensor
beforeAll(() => {
  x = tf.tensor(Float32Array.from({ length: 2 * n }, (_, j) => 10 * Math.floor(j / 2) + (j % 2)), [n, 2])
  y = tf.tensor(Int32Array.from({ length: n }, (_, i) => i), [n], 'int32')
})
afterAll(() => {
  x.dispose()
  y.dispose()
})

const labelsOf = (batches: readonly { y: tf.Tensor }[]): number[] => batches.flatMap((b) => values(b.y))
const natural = Array.from({ length: n }, (_, i) => i)

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error('expected a throw')
}

describe('fromTensors: batches', () => {
  it('slices batches of the right shapes, dtypes and values, with a smaller last batch', async () => {
    const source = fromTensors({ x, y }, { batchSize: 4 })
    expect(source.numBatches).toBe(3)
    const batches = await pass(source)
    expect(batches.map((b) => b.x.shape)).toEqual([
      [4, 2],
      [4, 2],
      [3, 2],
    ])
    expect(batches.map((b) => b.y.shape)).toEqual([[4], [4], [3]])
    expect(batches[0]!.y.dtype).toBe('int32')
    expect(batches[0]!.x.dtype).toBe('float32')
    expect(values(batches[1]!.x)).toEqual([40, 41, 50, 51, 60, 61, 70, 71])
    expect(values(batches[2]!.x)).toEqual([80, 81, 90, 91, 100, 101])
    expect(labelsOf(batches)).toEqual(natural)
    disposeAll(batches)
  })

  it('dropLast drops the smaller last batch', async () => {
    const source = fromTensors({ x, y }, { batchSize: 4, dropLast: true })
    expect(source.numBatches).toBe(2)
    const batches = await pass(source)
    expect(labelsOf(batches)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    disposeAll(batches)
  })
})

describe('fromTensors: order', () => {
  const shuffled = () => fromTensors({ x, y }, { batchSize: 3, shuffle: true })

  it('visits every example exactly once per shuffled pass, rows staying together', async () => {
    const batches = await pass(shuffled(), { key: key(5) })
    const ys = labelsOf(batches)
    expect([...ys].sort((a, b) => a - b)).toEqual(natural)
    expect(ys).not.toEqual(natural)
    for (const b of batches) expect(values(b.x)).toEqual(values(b.y).flatMap((i) => [10 * i, 10 * i + 1]))
    disposeAll(batches)
  })

  it('same key → same order; different epoch keys → different orders', async () => {
    const root = key(9)
    const a = await pass(shuffled(), { key: foldIn(root, 0) })
    const b = await pass(shuffled(), { key: foldIn(root, 0) })
    const c = await pass(shuffled(), { key: foldIn(root, 1) })
    expect(labelsOf(b)).toEqual(labelsOf(a))
    expect(labelsOf(c)).not.toEqual(labelsOf(a))
    disposeAll([...a, ...b, ...c])
  })

  it('noShuffle gives the natural order', async () => {
    const batches = await pass(shuffled(), { key: key(5), noShuffle: true })
    expect(labelsOf(batches)).toEqual(natural)
    disposeAll(batches)
  })

  it('skipBatches resumes at the right batch, shuffled or not', async () => {
    const k = key(2)
    const full = await pass(shuffled(), { key: k })
    const resumed = await pass(shuffled(), { key: k, skipBatches: 1 })
    expect(labelsOf(resumed)).toEqual(labelsOf(full.slice(1)))
    const plain = await pass(fromTensors({ x, y }, { batchSize: 3 }), { skipBatches: 3 })
    expect(labelsOf(plain)).toEqual([9, 10])
    disposeAll([...full, ...resumed, ...plain])
  })
})

describe('fromTensors: errors', () => {
  it('rejects tensors with different example counts, naming the tensor', () => {
    const other = tf.zeros([n - 1, 3])
    const e = thrown(() => fromTensors({ x, target: other }, { batchSize: 2 }))
    other.dispose()
    expect(hasTag(e, 'DataError')).toBe(true)
    if (!isRxtrainError(e)) throw e
    expect(e.problem).toContain('target')
    expect(e.details).toMatchObject({ column: 'target' })
  })

  it('rejects a scalar (no example dimension)', () => {
    const s = tf.scalar(1)
    const e = thrown(() => fromTensors({ x, s }, { batchSize: 2 }))
    s.dispose()
    expect(hasTag(e, 'DataError')).toBe(true)
  })

  it('rejects no tensors and a bad batch size', () => {
    expect(hasTag(thrown(() => fromTensors({}, { batchSize: 2 })), 'DataError')).toBe(true)
    expect(hasTag(thrown(() => fromTensors({ x }, { batchSize: 0 })), 'ConfigError')).toBe(true)
  })
})

describe('fromTensors: ownership', () => {
  it('never disposes the given tensors and keeps nothing after the batches are disposed', async () => {
    const start = numTensors()
    for (const shuffle of [false, true]) {
      const source = fromTensors({ x, y }, { batchSize: 4, shuffle })
      const it = source.open({ key: key(1) })
      const first = await resolvePull(it.next())
      expect(numTensors()).toBe(start + 2)
      if (first.done !== true) disposeAll([first.value])
      const rest = await drain(it)
      disposeAll(rest)
      expect(numTensors()).toBe(start)
    }
    expect(x.isDisposed).toBe(false)
    expect(y.isDisposed).toBe(false)
    expect(values(y)).toEqual(natural)
  })

  it('each batch is a new tensor: disposing a pass does not affect the next one', async () => {
    const source = fromTensors({ x, y }, { batchSize: 11 })
    const a = await pass(source)
    disposeAll(a)
    const b = await pass(source)
    expect(labelsOf(b)).toEqual(natural)
    expect(b[0]!.y).not.toBe(y)
    disposeAll(b)
  })
})
