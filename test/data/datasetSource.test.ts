import * as tf from '@tensorflow/tfjs-core'
import * as tfdata from '@tensorflow/tfjs-data'
import { firstValueFrom, isObservable, lastValueFrom, type Observable, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { fromDataset } from '../../src/data/datasetSource.js'
import type { BatchIterator } from '../../src/data/source.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { disposeAll, numTensors, values } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

type XY = { x: tf.Tensor; y: tf.Tensor }

/** 7 examples (x = [i, i + 0.5], y = i) in batches of 2: 4 batches, the last of one example. */
const dataset = (count = 7) =>
  tfdata
    .array(Array.from({ length: count }, (_, i) => ({ x: [i, i + 0.5], y: i })))
    .batch(2)
    .map((b) => {
      const { x, y } = b as { x: tf.Tensor; y: tf.Tensor }
      return { x: tf.mul(x, 2), y: tf.cast(y, 'int32') } as XY
    }) as tfdata.Dataset<XY>

type Result = IteratorResult<XY, undefined>

const pull = (it: BatchIterator<XY>): Observable<Result> => {
  const p = it.next()
  if (!isObservable(p)) throw new Error('expected an Observable pull')
  return p
}

/** Pulls until done; returns the batches and how many times `done` was seen in one extra pull. */
const pullAll = async (it: BatchIterator<XY>): Promise<XY[]> => {
  const out: XY[] = []
  for (let i = 0; i < 100; i++) {
    const r = await firstValueFrom(pull(it))
    if (r.done === true) return out
    out.push(r.value)
  }
  throw new Error('no end')
}

describe('fromDataset', () => {
  it('answers each pull with an Observable that emits one result and completes', async () => {
    const it = fromDataset(dataset()).open({ key: key(0) })
    const results = await lastValueFrom(pull(it).pipe(toArray()))
    expect(results).toHaveLength(1)
    const r = results[0] as Result
    expect(r.done).toBe(false)
    if (r.done !== true) disposeAll([r.value])
    it.close()
  })

  it('delivers every batch in order, then done (and done again)', async () => {
    const start = numTensors()
    const it = fromDataset(dataset()).open({ key: key(0) })
    const batches = await pullAll(it)
    expect(batches.map((b) => b.y.shape[0])).toEqual([2, 2, 2, 1])
    expect(batches.flatMap((b) => values(b.y))).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(batches[1]!.x.shape).toEqual([2, 2])
    expect(values(batches[1]!.x)).toEqual([4, 5, 6, 7])
    expect(batches[0]!.y.dtype).toBe('int32')
    expect((await firstValueFrom(pull(it))).done).toBe(true)
    it.close()
    disposeAll(batches)
    expect(numTensors()).toBe(start)
  })

  it('restarts from the beginning on every pass', async () => {
    const source = fromDataset(dataset())
    for (let epoch = 0; epoch < 2; epoch++) {
      const batches = await pullAll(source.open({ key: key(epoch) }))
      expect(batches.flatMap((b) => values(b.y))).toEqual([0, 1, 2, 3, 4, 5, 6])
      disposeAll(batches)
    }
  })

  it('skipBatches skips the first batches and disposes them', async () => {
    const start = numTensors()
    const it = fromDataset(dataset()).open({ key: key(0), skipBatches: 2 })
    const first = await firstValueFrom(pull(it))
    expect(first.done).toBe(false)
    if (first.done === true) return
    expect(values(first.value.y)).toEqual([4, 5])
    // Only the delivered batch is alive: the two skipped ones were disposed.
    expect(numTensors()).toBe(start + 2)
    const rest = await pullAll(it)
    expect(rest.flatMap((b) => values(b.y))).toEqual([6])
    disposeAll([first.value, ...rest])
    expect(numTensors()).toBe(start)
  })

  it('skipping past the end gives done', async () => {
    const start = numTensors()
    const it = fromDataset(dataset()).open({ key: key(0), skipBatches: 10 })
    expect((await firstValueFrom(pull(it))).done).toBe(true)
    expect(numTensors()).toBe(start)
  })

  it('passes numBatches through (undefined unless given)', () => {
    expect(fromDataset(dataset()).numBatches).toBeUndefined()
    expect(fromDataset(dataset(), { numBatches: 4 }).numBatches).toBe(4)
  })

  it('after close, pulls answer done and a batch read after close is disposed', async () => {
    const start = numTensors()
    const it = fromDataset(dataset()).open({ key: key(0) })
    const first = await firstValueFrom(pull(it))
    // A pull already in flight when close is called.
    const inFlight = firstValueFrom(pull(it))
    it.close()
    expect((await inFlight).done).toBe(true)
    expect((await firstValueFrom(pull(it))).done).toBe(true)
    if (first.done !== true) disposeAll([first.value])
    expect(numTensors()).toBe(start)
  })
})

describe('fromDataset when the consumer stops listening', () => {
  // A dataset whose batches take 10 ms to load (only `iterator` is used by fromDataset).
  const slowDataset = () =>
    ({
      iterator: async () => ({
        next: () => new Promise<IteratorResult<XY>>((resolve) => setTimeout(() => resolve({ done: false, value: { x: tf.ones([2, 2]), y: tf.zeros([2], 'int32') } }), 10)),
      }),
    }) as unknown as tfdata.Dataset<XY>
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it('disposes a batch that arrives after its pull was unsubscribed (a cancelled run)', async () => {
    const before = numTensors()
    const it = fromDataset(slowDataset()).open({ key: key(0) })
    const subscription = pull(it).subscribe()
    await sleep(2) // the load is under way
    subscription.unsubscribe()
    await sleep(20) // and has finished, with nobody listening
    it.close()
    expect(numTensors()).toBe(before)
  })

  it('disposes a batch that arrives after close', async () => {
    const before = numTensors()
    const it = fromDataset(slowDataset()).open({ key: key(0) })
    const results: Result[] = []
    pull(it).subscribe((r) => results.push(r))
    await sleep(2)
    it.close()
    await sleep(20)
    expect(results).toEqual([{ done: true, value: undefined }])
    expect(numTensors()).toBe(before)
  })
})
