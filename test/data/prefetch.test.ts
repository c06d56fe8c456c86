import * as tf from '@tensorflow/tfjs-core'
import * as tfdata from '@tensorflow/tfjs-data'
import { firstValueFrom, from, isObservable, of } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { fromArrays } from '../../src/data/arraySource.js'
import { fromDataset } from '../../src/data/datasetSource.js'
import { withPrefetch } from '../../src/data/prefetch.js'
import { type BatchSource, done, type Pull } from '../../src/data/source.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { numTensors, resolvePull, values } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

interface B {
  readonly x: tf.Tensor
}

type Mode = 'sync' | 'observable' | 'promise'

/**
 * A source of `count` batches whose pulls are immediate (sync results, synchronous Observables,
 * or already-resolved promises): loading is always faster than training. It counts what it made.
 */
const countingSource = (count: number, mode: Mode) => {
  const stats = { produced: 0, pullsAfterDone: 0, closed: 0 }
  const source: BatchSource<B> = {
    numBatches: count,
    open: () => {
      let i = 0
      let ended = false
      return {
        next: (): Pull<B> => {
          if (ended) stats.pullsAfterDone++
          if (i >= count) {
            ended = true
            return mode === 'sync' ? done : mode === 'observable' ? of(done) : from(Promise.resolve(done))
          }
          const make = (): IteratorResult<B, undefined> => {
            stats.produced++
            return { done: false, value: { x: tf.scalar(i++) } }
          }
          return mode === 'sync' ? make() : mode === 'observable' ? of(make()) : from(Promise.resolve().then(make))
        },
        close: () => {
          stats.closed++
        },
      }
    },
  }
  return { source, stats }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 5))

describe.each<Mode>(['sync', 'observable', 'promise'])('withPrefetch over %s pulls', (mode) => {
  it.each([0, 1, 3])('depth %i: produced − taken stays ≤ depth + 1, results in order, one end', async (depth) => {
    const start = numTensors()
    const { source, stats } = countingSource(10, mode)
    const it = withPrefetch(source, depth).open({ key: key(0) })
    let taken = 0
    let maxAhead = 0
    const seen: number[] = []
    for (;;) {
      const pull = it.next()
      expect(isObservable(pull)).toBe(true)
      maxAhead = Math.max(maxAhead, stats.produced - taken)
      expect(stats.produced - taken).toBeLessThanOrEqual(depth + 1)
      const r = await resolvePull(pull)
      await tick() // the consumer trains slowly: loading had time to run ahead
      maxAhead = Math.max(maxAhead, stats.produced - taken)
      expect(stats.produced - taken).toBeLessThanOrEqual(depth + 1)
      if (r.done === true) break
      taken++
      seen.push(values(r.value.x)[0] as number)
      // Besides the batch in hand, at most `depth` batches wait in memory.
      expect(numTensors() - start).toBeLessThanOrEqual(depth + 1)
      r.value.x.dispose()
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    // Prefetch really runs ahead when depth > 0.
    expect(maxAhead).toBe(Math.min(depth + 1, 10))
    // The end is reported once: the inner source is not pulled again after it said done.
    if (mode !== 'promise') expect(stats.pullsAfterDone).toBe(0)
    expect((await resolvePull(it.next())).done).toBe(true)
    it.close()
    expect(stats.closed).toBe(1)
    expect(numTensors()).toBe(start)
  })

  it('close disposes batches that were prefetched but never taken', async () => {
    const start = numTensors()
    const { source, stats } = countingSource(10, mode)
    const it = withPrefetch(source, 3).open({ key: key(0) })
    const first = await resolvePull(it.next())
    await tick()
    expect(stats.produced).toBe(4)
    expect(numTensors()).toBe(start + 4)
    it.close()
    expect(stats.closed).toBe(1)
    // Only the batch the consumer took survives; it is the consumer's to dispose.
    expect(numTensors()).toBe(start + 1)
    if (first.done !== true) first.value.x.dispose()
    await tick()
    expect(numTensors()).toBe(start)
  })
})

describe('withPrefetch', () => {
  it('passes numBatches through and keeps a real source’s order', async () => {
    const src = fromArrays({ y: { data: Int32Array.from([0, 1, 2, 3, 4]), shape: [], dtype: 'int32' } }, { batchSize: 2 })
    const pre = withPrefetch(src, 2)
    expect(pre.numBatches).toBe(3)
    const it = pre.open({ key: key(0) })
    const ys: number[] = []
    for (;;) {
      const r = await resolvePull(it.next())
      if (r.done === true) break
      ys.push(...values(r.value.y))
      r.value.y.dispose()
    }
    it.close()
    expect(ys).toEqual([0, 1, 2, 3, 4])
  })

  it.each([-1, 1.5, Number.NaN])('rejects depth %s with a ConfigError (instead of ending every pass at once)', (depth) => {
    const { source } = countingSource(3, 'sync')
    expect(() => withPrefetch(source, depth)).toThrow(expect.objectContaining({ tag: 'ConfigError' }))
  })

  it('reports an error of the inner pull to the consumer', async () => {
    const failing: BatchSource<B> = {
      numBatches: undefined,
      open: () => ({
        next: () => {
          throw new Error('never called synchronously')
        },
        close: () => undefined,
      }),
    }
    const boom = new Error('disk on fire')
    const it = withPrefetch<B>({ ...failing, open: () => ({ next: () => from(Promise.reject(boom)), close: () => undefined }) }, 1).open({ key: key(0) })
    const pull = it.next()
    await expect(isObservable(pull) ? firstValueFrom(pull) : Promise.resolve(pull)).rejects.toBe(boom)
    it.close()
  })

  it('a pull awaited across close answers done, and its late batch is disposed', async () => {
    const start = numTensors()
    let i = 0
    const slow: BatchSource<B> = {
      numBatches: undefined,
      open: () => ({
        next: () =>
          from(
            new Promise<IteratorResult<B, undefined>>((resolve) =>
              setTimeout(() => resolve({ done: false, value: { x: tf.scalar(i++) } }), 10),
            ),
          ),
        close: () => undefined,
      }),
    }
    const it = withPrefetch(slow, 1).open({ key: key(0) })
    const pending = resolvePull(it.next())
    it.close()
    expect((await pending).done).toBe(true)
    await tick()
    await tick()
    expect(i).toBe(2) // both pulls in flight did finish loading...
    expect(numTensors()).toBe(start) // ...and both batches were disposed
    expect((await resolvePull(it.next())).done).toBe(true)
  })

  describe('over a tf.data dataset', () => {
    const dataset = () =>
      tfdata
        .array(Array.from({ length: 9 }, (_, i) => ({ y: i })))
        .batch(2)
        .map((b) => ({ y: tf.cast((b as { y: tf.Tensor }).y, 'int32') })) as tfdata.Dataset<{ y: tf.Tensor }>

    it('skipBatches skips exactly that many batches even with several pulls in flight', async () => {
      const start = numTensors()
      const it = withPrefetch(fromDataset(dataset()), 2).open({ key: key(0), skipBatches: 1 })
      const ys: number[] = []
      for (;;) {
        const r = await resolvePull(it.next())
        if (r.done === true) break
        ys.push(...values(r.value.y))
        r.value.y.dispose()
      }
      it.close()
      expect(ys).toEqual([2, 3, 4, 5, 6, 7, 8])
      expect(numTensors()).toBe(start)
    })

    it('close while pulls are in flight leaks nothing', async () => {
      const start = numTensors()
      const it = withPrefetch(fromDataset(dataset()), 3).open({ key: key(0) })
      const first = await resolvePull(it.next())
      it.close()
      if (first.done !== true) first.value.y.dispose()
      // Let the dataset finish the reads that were already under way.
      for (let i = 0; i < 5; i++) await tick()
      expect(numTensors()).toBe(start)
    })
  })
})
