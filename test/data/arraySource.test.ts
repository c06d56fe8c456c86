import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { fromArrays } from '../../src/data/arraySource.js'
import { compactRecipe, recipeBatchSizes, sourceFromRecipe } from '../../src/data/sourceRecipe.js'
import { hasTag, isRxtrainError } from '../../src/errors/rxtrainError.js'
import { foldIn, key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { disposeAll, drain, numTensors, pass, resolvePull, values } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/** n examples: x row i = [10i, 10i + 1] (float), y = i (int32). */
const columns = (n: number) => ({
  x: { data: Float32Array.from({ length: 2 * n }, (_, j) => 10 * Math.floor(j / 2) + (j % 2)), shape: [2] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i), shape: [], dtype: 'int32' as const },
})

const labelsOf = (batches: readonly { y: tf.Tensor }[]): number[] => batches.flatMap((b) => values(b.y))

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error('expected a throw')
}

describe('fromArrays: batches', () => {
  it('cuts hand-built columns into batches of the right shapes, dtypes and values', async () => {
    const batches = await pass(fromArrays(columns(5), { batchSize: 2 }))
    expect(batches).toHaveLength(3)
    const [b0, b1, b2] = batches as [(typeof batches)[0], (typeof batches)[0], (typeof batches)[0]]
    expect(b0.x.shape).toEqual([2, 2])
    expect(b0.x.dtype).toBe('float32')
    expect(b0.y.shape).toEqual([2])
    expect(b0.y.dtype).toBe('int32')
    expect(values(b0.x)).toEqual([0, 1, 10, 11])
    expect(values(b0.y)).toEqual([0, 1])
    expect(values(b1.x)).toEqual([20, 21, 30, 31])
    expect(values(b1.y)).toEqual([2, 3])
    // The last batch is smaller.
    expect(b2.x.shape).toEqual([1, 2])
    expect(b2.y.shape).toEqual([1])
    expect(values(b2.x)).toEqual([40, 41])
    expect(values(b2.y)).toEqual([4])
    disposeAll(batches)
  })

  it('keeps multi-dimensional example shapes', async () => {
    const data = Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i)
    const [b] = await pass(fromArrays({ img: { data, shape: [2, 2] } }, { batchSize: 3 }))
    expect(b?.img.shape).toEqual([3, 2, 2])
    expect(values(b!.img)).toEqual(Array.from(data))
    disposeAll([b!])
  })

  it('counts batches with and without dropLast', async () => {
    expect(fromArrays(columns(10), { batchSize: 3 }).numBatches).toBe(4)
    expect(fromArrays(columns(10), { batchSize: 3, dropLast: true }).numBatches).toBe(3)
    expect(fromArrays(columns(9), { batchSize: 3, dropLast: true }).numBatches).toBe(3)
    expect(fromArrays(columns(9), { batchSize: 3 }).numBatches).toBe(3)
    expect(fromArrays(columns(2), { batchSize: 3, dropLast: true }).numBatches).toBe(0)
    const dropped = await pass(fromArrays(columns(10), { batchSize: 3, dropLast: true }))
    expect(dropped.map((b) => b.y.shape[0])).toEqual([3, 3, 3])
    expect(labelsOf(dropped)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    const kept = await pass(fromArrays(columns(10), { batchSize: 3 }))
    expect(kept.map((b) => b.y.shape[0])).toEqual([3, 3, 3, 1])
    disposeAll([...dropped, ...kept])
  })

  it('answers done after the last batch, and keeps answering done', () => {
    const it = fromArrays(columns(2), { batchSize: 2 }).open({ key: key(0) })
    const first = it.next() as IteratorResult<{ x: tf.Tensor; y: tf.Tensor }, undefined>
    expect(first.done).toBe(false)
    expect((it.next() as IteratorResult<unknown>).done).toBe(true)
    expect((it.next() as IteratorResult<unknown>).done).toBe(true)
    if (first.done !== true) disposeAll([first.value])
  })

  it('close ends the pass', async () => {
    const it = fromArrays(columns(6), { batchSize: 2 }).open({ key: key(0) })
    const first = await resolvePull(it.next())
    it.close()
    expect((await resolvePull(it.next())).done).toBe(true)
    if (first.done !== true) disposeAll([first.value])
  })

  it('scales each value as the double v * scale rounded once to float32, whatever the column type', async () => {
    const scale = 1 / 255
    const cases = [Uint8Array.from({ length: 256 }, (_, i) => i), Int16Array.from([-32768, -7, 0, 9, 32767, 1234]), Float32Array.from([0.1, -3.7, 1e30, 7]), Int32Array.from([2 ** 24 + 1, -(2 ** 30) - 3, 5, 16777219])]
    for (const data of cases) {
      const n = data.length
      const [b] = await pass(fromArrays({ x: { data, shape: [1], scale } }, { batchSize: n }))
      expect(Array.from(values(b!.x))).toEqual(Array.from(data, (v) => Math.fround(v * scale)))
      disposeAll([b!])
    }
  })

  it('scales values (bytes to floats in [0, 1])', async () => {
    const bytes = Uint8Array.from([0, 51, 255, 102])
    const [b] = await pass(fromArrays({ x: { data: bytes, shape: [2], scale: 1 / 255 } }, { batchSize: 2 }))
    expect(b!.x.dtype).toBe('float32')
    const v = values(b!.x)
    expect(v[0]).toBe(0)
    expect(v[1]).toBeCloseTo(0.2, 6)
    expect(v[2]).toBeCloseTo(1, 6)
    expect(v[3]).toBeCloseTo(0.4, 6)
    disposeAll([b!])
  })

  it('builds int32 columns from any typed array, and float32 by default', async () => {
    const [b] = await pass(
      fromArrays(
        { y: { data: Uint8Array.from([7, 200, 3]), shape: [], dtype: 'int32' }, z: { data: Int16Array.from([-2, 5, 9]), shape: [] } },
        { batchSize: 3 },
      ),
    )
    expect(b!.y.dtype).toBe('int32')
    expect(values(b!.y)).toEqual([7, 200, 3])
    expect(b!.z.dtype).toBe('float32')
    expect(values(b!.z)).toEqual([-2, 5, 9])
    disposeAll([b!])
  })
})

describe('fromArrays: order', () => {
  const n = 23
  const source = fromArrays(columns(n), { batchSize: 4, shuffle: true })

  it('visits every example exactly once per shuffled pass, rows staying together', async () => {
    const batches = await pass(source, { key: key(7) })
    const ys = labelsOf(batches)
    expect([...ys].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
    expect(ys).not.toEqual(Array.from({ length: n }, (_, i) => i))
    // x stays aligned with y.
    for (const b of batches) {
      const y = values(b.y)
      expect(values(b.x)).toEqual(y.flatMap((i) => [10 * i, 10 * i + 1]))
    }
    disposeAll(batches)
  })

  it('gives the same order for the same key and different orders for different epoch keys', async () => {
    const root = key(3)
    const a = await pass(source, { key: foldIn(root, 0) })
    const b = await pass(source, { key: foldIn(root, 0) })
    const c = await pass(source, { key: foldIn(root, 1) })
    expect(labelsOf(b)).toEqual(labelsOf(a))
    expect(labelsOf(c)).not.toEqual(labelsOf(a))
    expect([...labelsOf(c)].sort((x, y) => x - y)).toEqual([...labelsOf(a)].sort((x, y) => x - y))
    disposeAll([...a, ...b, ...c])
  })

  it('noShuffle gives the natural order; an unshuffled source ignores the key', async () => {
    const natural = Array.from({ length: n }, (_, i) => i)
    const forced = await pass(source, { key: key(7), noShuffle: true })
    expect(labelsOf(forced)).toEqual(natural)
    const plain = await pass(fromArrays(columns(n), { batchSize: 4 }), { key: key(7) })
    expect(labelsOf(plain)).toEqual(natural)
    disposeAll([...forced, ...plain])
  })

  it('skipBatches resumes at the right batch of the same order', async () => {
    const k = key(11)
    const full = await pass(source, { key: k })
    const resumed = await pass(source, { key: k, skipBatches: 2 })
    expect(resumed).toHaveLength(full.length - 2)
    expect(labelsOf(resumed)).toEqual(labelsOf(full.slice(2)))
    const unshuffled = await pass(fromArrays(columns(n), { batchSize: 4 }), { skipBatches: 5 })
    expect(labelsOf(unshuffled)).toEqual([20, 21, 22])
    const past = await pass(source, { key: k, skipBatches: 99 })
    expect(past).toEqual([])
    disposeAll([...full, ...resumed, ...unshuffled])
  })
})

describe('fromArrays: data-parallel shards and recipe', () => {
  const n = 23
  const source = fromArrays(columns(n), { batchSize: 8, shuffle: true })

  it("a pass opened for each rank gives that rank's rows of every batch, which together are the whole batch in order", async () => {
    const k = key(5)
    const whole = await pass(source, { key: k, skipBatches: 1 })
    const ranks = await Promise.all([0, 1, 2].map((rank) => pass(source, { key: k, skipBatches: 1, shard: { rank, ranks: 3 } })))
    expect(whole.map((b) => b.y.shape[0])).toEqual([8, 7])
    // 8 rows: 3, 3, 2; the last batch's 7: 3, 2, 2
    expect(ranks.map((r) => r.map((b) => b.y.shape[0]))).toEqual([
      [3, 3],
      [3, 2],
      [2, 2],
    ])
    whole.forEach((b, i) => {
      expect(ranks.flatMap((r) => values((r[i] as (typeof r)[0]).y))).toEqual(values(b.y))
      expect(ranks.flatMap((r) => values((r[i] as (typeof r)[0]).x))).toEqual(values(b.x))
    })
    disposeAll([...whole, ...ranks.flat()])
  })

  it('carries a recipe that builds the same source elsewhere, and tells the size of each batch', async () => {
    const recipe = source.recipe
    if (recipe === undefined) throw new Error('fromArrays has a recipe')
    const k = key(8)
    const rebuilt = await pass(sourceFromRecipe(recipe) as typeof source, { key: k })
    const original = await pass(source, { key: k })
    expect(rebuilt.map((b) => values(b.x))).toEqual(original.map((b) => values(b.x)))
    const sizes = recipeBatchSizes(recipe)
    expect([0, 1, 2].map(sizes)).toEqual([8, 8, 7])
    disposeAll([...rebuilt, ...original])
  })

  it('a compact recipe copies only the values a column uses, so that posting it does not copy a whole file', () => {
    const file = new Float32Array(100)
    file.set([1, 2, 3, 4], 10)
    const view = fromArrays({ x: { data: file.subarray(10, 14), shape: [2] } }, { batchSize: 1 }).recipe
    if (view === undefined) throw new Error('fromArrays has a recipe')
    const compact = compactRecipe(view).columns.x?.data
    expect(compact?.buffer.byteLength).toBe(16)
    expect(Array.from(compact ?? [])).toEqual([1, 2, 3, 4])
    const whole = fromArrays({ x: { data: new Float32Array(4), shape: [2] } }, { batchSize: 1 }).recipe
    if (whole === undefined) throw new Error('fromArrays has a recipe')
    expect(compactRecipe(whole).columns.x?.data).toBe(whole.columns.x?.data)
  })
})

describe('fromArrays: errors', () => {
  it('rejects columns of different lengths, naming the column', () => {
    const e = thrown(() =>
      fromArrays({ x: { data: new Float32Array(6), shape: [2] }, label: { data: new Int32Array(4), shape: [] } }, { batchSize: 2 }),
    )
    expect(hasTag(e, 'DataError')).toBe(true)
    if (!isRxtrainError(e)) throw e
    expect(e.problem).toContain('label')
    expect(e.details).toMatchObject({ column: 'label' })
  })

  it('rejects a column whose length is not a multiple of its example shape, naming the column', () => {
    const e = thrown(() =>
      fromArrays({ y: { data: new Int32Array(3), shape: [] }, pixels: { data: new Float32Array(7), shape: [2] } }, { batchSize: 2 }),
    )
    expect(hasTag(e, 'DataError')).toBe(true)
    if (!isRxtrainError(e)) throw e
    expect(e.problem).toContain('pixels')
    expect(e.details).toMatchObject({ column: 'pixels' })
  })

  it('rejects no columns', () => {
    expect(hasTag(thrown(() => fromArrays({}, { batchSize: 2 })), 'DataError')).toBe(true)
  })

  it.each([0, -1, 1.5, Number.NaN])('rejects batchSize %s with a ConfigError', (batchSize) => {
    const e = thrown(() => fromArrays(columns(4), { batchSize }))
    expect(hasTag(e, 'ConfigError')).toBe(true)
    if (!isRxtrainError(e)) throw e
    expect(e.details).toMatchObject({ field: 'batchSize' })
  })
})

describe('fromArrays: memory', () => {
  it('keeps no tensors: the count returns to the start once pulled batches are disposed', async () => {
    const start = numTensors()
    const source = fromArrays(columns(9), { batchSize: 2, shuffle: true })
    expect(numTensors()).toBe(start)
    const it = source.open({ key: key(1) })
    const first = await resolvePull(it.next())
    expect(numTensors()).toBe(start + 2)
    if (first.done !== true) disposeAll([first.value])
    const rest = await drain(it)
    expect(numTensors()).toBe(start + 2 * rest.length)
    disposeAll(rest)
    expect(numTensors()).toBe(start)
  })

  it('builds new tensors every pass: disposing one pass does not affect the next', async () => {
    const source = fromArrays(columns(4), { batchSize: 2 })
    const a = await pass(source)
    const ids = new Set(a.flatMap((b) => [b.x.id, b.y.id]))
    disposeAll(a)
    const b = await pass(source)
    for (const batch of b) {
      expect(ids.has(batch.x.id)).toBe(false)
      expect(batch.x.isDisposed).toBe(false)
    }
    expect(labelsOf(b)).toEqual([0, 1, 2, 3])
    disposeAll(b)
  })
})
