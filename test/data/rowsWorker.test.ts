import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { fromArrays } from '../../src/data/arraySource.js'
import { gatherRowsInto } from '../../src/data/gatherRows.js'
import { type RowGatherer, sharedView, startRowsWorker } from '../../src/effects/rowsWorker.js'
import { hasTag } from '../../src/errors/rxtrainError.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// 997 examples of 13 bytes (x, scaled to [0, 1]) and an int32 label: batches of 64, the last one short.
const n = 997
const columns = {
  x: { data: Uint8Array.from({ length: n * 13 }, (_, i) => (i * 37 + (i >> 5)) % 256), shape: [13], scale: 1 / 255 },
  y: { data: Int32Array.from({ length: n }, (_, i) => (i * 7) % 10), shape: [], dtype: 'int32' as const },
}

/** Every batch of a pass as plain arrays, pulled with `pause` ms between pulls (time for the worker to run ahead). */
const passValues = async (workers: 0 | 1, pause: number, skipBatches = 0) => {
  const it = fromArrays(columns, { batchSize: 64, shuffle: true, workers }).open({ key: key(3), skipBatches })
  const out: { x: number[]; y: number[]; shape: number[] }[] = []
  for (;;) {
    const r = it.next() as IteratorResult<{ x: tf.Tensor; y: tf.Tensor }, undefined>
    if (r.done === true) break
    out.push({ x: Array.from(r.value.x.dataSync()), y: Array.from(r.value.y.dataSync()), shape: r.value.x.shape })
    tf.dispose([r.value.x, r.value.y])
    await sleep(pause)
  }
  it.close()
  return out
}

describe('fromArrays with workers: 1 (batches built in a worker thread)', () => {
  it('gives bitwise the batches of workers: 0, for a shuffled pass, a short last batch and a resumed pass', async () => {
    const before = tf.memory().numTensors
    expect(await passValues(1, 5)).toEqual(await passValues(0, 0))
    expect(await passValues(1, 2, 9)).toEqual(await passValues(0, 0, 9))
    expect(tf.memory().numTensors).toBe(before)
  })

  it('is refused for a value other than 0 or 1', () => {
    let error: unknown
    try {
      fromArrays(columns, { batchSize: 8, workers: 2 as 1 })
    } catch (e) {
      error = e
    }
    expect(hasTag(error, 'ConfigError')).toBe(true)
    expect(String(error)).toContain('workers must be 0 or 1')
  })
})

describe('the rows worker', () => {
  const indices = Int32Array.from({ length: n }, (_, i) => (i * 389) % n)
  const batches = Int32Array.from({ length: 32 }, (_, k) => Math.min(n, Math.floor(k / 2) * 64 + (k % 2) * 64))
  const shared = [
    { name: 'x', data: sharedView(columns.x.data), size: 13, scale: 1 / 255, int32: false },
    { name: 'y', data: sharedView(columns.y.data), size: 1, scale: 1, int32: true },
  ]
  const expected = (b: number) => {
    const [from, to] = [batches[2 * b] as number, batches[2 * b + 1] as number]
    const x = new Float32Array((to - from) * 13)
    gatherRowsInto(x, columns.x.data, indices, from, to, 13, 1 / 255)
    const y = new Int32Array(to - from)
    gatherRowsInto(y, columns.y.data, indices, from, to, 1, 1)
    return { x, y }
  }

  it('builds the batches ahead with the same arithmetic, at most `depth` ahead of the one taken', async () => {
    const worker = startRowsWorker(gatherRowsInto as RowGatherer, shared, indices, batches, 0, 2)
    if (worker === undefined) throw new Error('a worker thread starts in Node')
    await sleep(300)
    // Two batches ahead of batch 0 at most: 0 and 1 are built, 2 is not.
    const b0 = worker.take(0)
    expect(b0).toEqual(expected(0))
    worker.taken(0)
    await sleep(200)
    expect(worker.take(1)).toEqual(expected(1))
    worker.taken(1)
    expect(worker.take(2)).toEqual(expected(2)) // asked for after batch 0 was taken
    worker.taken(2)
    // A batch the training thread built itself is skipped by the worker.
    worker.taken(9)
    await sleep(200)
    expect(worker.take(10)).toEqual(expected(10))
    worker.close()
    expect(worker.take(11)).toBeUndefined()
  })

  it('shares a column of shared memory as it is, and copies any other buffer once', () => {
    const plain = Float32Array.from([1, 2, 3, 4]).subarray(1, 3)
    const once = sharedView(plain)
    expect(once.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(Array.from(once)).toEqual([2, 3])
    expect(sharedView(plain).buffer).toBe(once.buffer)
    expect(sharedView(once)).toBe(once)
  })
})
