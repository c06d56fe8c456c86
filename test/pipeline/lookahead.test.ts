import * as tf from '@tensorflow/tfjs-core'
import { from, lastValueFrom, Observable, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import type { BatchIterator, BatchSource } from '../../src/data/source.js'
import { drive } from '../../src/flow/drive.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { stopWhen } from '../support/hooks.js'
import { fit } from '../../src/pipeline/fit.js'
import { lookahead, overlapped } from '../../src/pipeline/lookahead.js'
import { asyncOnly, quiet, useBackend } from '../support/backend.js'
import { lineModule, lineSource, type XY } from '../support/tiny.js'

let cpu: Backend
let slowReads: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  slowReads = asyncOnly(cpu, 2)
})

/** Counts pulls: `log` gets 'pull k' for the k-th batch pulled. */
const counted = (source: BatchSource<XY>, log: string[]): BatchSource<XY> => ({
  numBatches: source.numBatches,
  open: (order) => {
    const inner = source.open(order)
    let k = order.skipBatches ?? 0
    return {
      next: () => {
        const r = inner.next()
        if (!(r instanceof Observable) && r.done !== true) log.push(`pull ${k++}`)
        return r
      },
      close: () => inner.close(),
    }
  },
})

const scalarIterator = (values: number[]): BatchIterator<tf.Tensor> => {
  let i = 0
  return { next: () => (i < values.length ? { done: false, value: tf.scalar(values[i++] as number) } : { done: true, value: undefined }), close: () => undefined }
}

describe('lookahead', () => {
  it('hands out the batch pulled ahead, in the same order, and prepares it once', () => {
    const prepared: number[] = []
    const it = lookahead(scalarIterator([1, 2, 3]), (b) => prepared.push(b.dataSync()[0] as number))
    const take = () => {
      const r = it.next()
      if (r instanceof Observable || r.done === true) return undefined
      const v = r.value.dataSync()[0]
      r.value.dispose()
      return v
    }
    expect(take()).toBe(1)
    it.pullAhead()
    it.pullAhead() // a second call before the next() pulls nothing more
    expect(prepared).toEqual([2])
    expect(take()).toBe(2)
    expect(take()).toBe(3)
    expect(it.next()).toEqual({ done: true, value: undefined })
  })

  it('disposes a batch pulled ahead but never taken, on close', () => {
    const before = tf.memory().numTensors
    const it = lookahead(scalarIterator([1, 2]))
    it.pullAhead()
    expect(tf.memory().numTensors).toBe(before + 1)
    it.close()
    expect(tf.memory().numTensors).toBe(before)
  })

  it("keeps a failed pull's error for the next() that needs it; a failed prepare is left to the step", () => {
    const failing: BatchIterator<tf.Tensor> = {
      next: () => {
        throw new Error('disk gone')
      },
      close: () => undefined,
    }
    const it = lookahead(failing)
    expect(() => it.pullAhead()).not.toThrow()
    expect(() => it.next()).toThrow('disk gone')
    const prepareFails = lookahead(scalarIterator([5]), () => {
      throw new Error('cannot prepare')
    })
    expect(() => prepareFails.pullAhead()).not.toThrow()
    const r = prepareFails.next()
    expect(r instanceof Observable || r.done === true ? undefined : r.value.dataSync()[0]).toBe(5)
    prepareFails.close()
  })
})

describe('overlapped', () => {
  it('starts the work before running meanwhile, then returns its last value', async () => {
    const order: string[] = []
    const work = new Observable<number>((s) => {
      order.push('work starts')
      setTimeout(() => (order.push('work ends'), s.next(7), s.complete()), 5)
    })
    const result = await lastValueFrom(
      drive<number>((emit) =>
        (function* () {
          emit((yield* overlapped(work, () => order.push('meanwhile'))) as number)
        })(),
      ),
    )
    expect(result).toBe(7)
    expect(order).toEqual(['work starts', 'meanwhile', 'work ends'])
  })

  it('unsubscribes the work when the program is cancelled while waiting', async () => {
    let tornDown = false
    const work = new Observable<number>(() => () => (tornDown = true))
    const subscription = drive<number>(() =>
      (function* () {
        yield* overlapped(work, () => undefined)
      })(),
    ).subscribe()
    expect(tornDown).toBe(false)
    subscription.unsubscribe()
    expect(tornDown).toBe(true)
  })
})

describe('the fit loop pulls ahead while a step waits', () => {
  // A row every step: every step waits for its read (a step that logs nothing does not wait, see deferredReads.test.ts).
  const run = async (options: Parameters<typeof fit>[2], stopAt?: number) => {
    const log: string[] = []
    const before = tf.memory().numTensors
    await lastValueFrom(
      fit(lineModule(), { train: counted(lineSource(6, 2), log) }, { logEveryNSteps: 1, ...options }, { backend: slowReads, signals: quiet }).pipe(
        tap((e: FitEvent) => {
          if (e.type === 'trainStep') log.push(`step ${e.batchIdx}`)
        }),
        stopWhen((e) => e.type === 'trainStep' && e.batchIdx === stopAt),
      ),
    )
    return { log, leaked: tf.memory().numTensors - before }
  }

  it('pulls batch k + 1 while step k is in flight, never past the last batch', async () => {
    const { log, leaked } = await run({ maxEpochs: 1 })
    expect(log).toEqual(['pull 0', 'pull 1', 'step 0', 'pull 2', 'step 1', 'pull 3', 'step 2', 'pull 4', 'step 3', 'pull 5', 'step 4', 'step 5'])
    expect(leaked).toBe(0)
  })

  it('pulls nothing past maxSteps', async () => {
    const { log } = await run({ maxSteps: 3 })
    expect(log).toEqual(['pull 0', 'pull 1', 'step 0', 'pull 2', 'step 1', 'step 2'])
  })

  it('disposes the batch pulled ahead when a stop ends the epoch before it is used', async () => {
    const { log, leaked } = await run({ maxEpochs: 1 }, 2)
    expect(log).toEqual(['pull 0', 'pull 1', 'step 0', 'pull 2', 'step 1', 'pull 3', 'step 2'])
    expect(leaked).toBe(0)
  })

  it('starts an asynchronous pull at once, and disposes its batch when a stop leaves it unused', async () => {
    const log: string[] = []
    // Each pull starts loading when it is asked for (a promise), as a user's source typically does.
    const eager = (source: BatchSource<XY>): BatchSource<XY> => ({
      numBatches: source.numBatches,
      open: (order) => {
        const inner = source.open(order)
        let k = 0
        return {
          next: () => {
            const r = inner.next() as IteratorResult<XY, undefined>
            log.push(`load ${k++}`)
            return from(new Promise<IteratorResult<XY, undefined>>((resolve) => setTimeout(() => resolve(r), 1)))
          },
          close: () => inner.close(),
        }
      },
    })
    const before = tf.memory().numTensors
    await lastValueFrom(
      fit(lineModule(), { train: eager(lineSource(6, 2)) }, { maxEpochs: 1, logEveryNSteps: 1 }, { backend: slowReads, signals: quiet }).pipe(
        tap((e: FitEvent) => {
          if (e.type === 'trainStep') log.push(`step ${e.batchIdx}`)
        }),
        stopWhen((e) => e.type === 'trainStep' && e.batchIdx === 2),
      ),
    )
    expect(log).toEqual(['load 0', 'load 1', 'step 0', 'load 2', 'step 1', 'load 3', 'step 2'])
    // batch 3 arrived (or arrives) after the stop: disposed, nothing left
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a synchronous step pulls each batch only after the step before it', async () => {
    const log: string[] = []
    await lastValueFrom(
      fit(lineModule(), { train: counted(lineSource(3, 2), log) }, { maxEpochs: 1 }, { backend: cpu, signals: quiet }).pipe(
        tap((e: FitEvent) => {
          if (e.type === 'trainStep') log.push(`step ${e.batchIdx}`)
        }),
      ),
    )
    expect(log).toEqual(['pull 0', 'step 0', 'pull 1', 'step 1', 'pull 2', 'step 2'])
  })

})
