import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { isRxtrainError, rxtrainError } from '../../src/errors/rxtrainError.js'
import { optim } from '../../src/index.js'
import { defineModule } from '../../src/pipeline/module.js'
import { stepError } from '../../src/pipeline/batches.js'
import { isOutOfMemory } from '../../src/tuner/outOfMemory.js'
import { nextBatchSize, scaleBatchSize } from '../../src/tuner/scaleBatchSize.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineArrays, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** A linear model whose step fails as a backend out of memory would, above `limit` examples a batch. */
const fragile = (limit: number, message = 'memory access out of bounds') =>
  defineModule({
    init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
    trainingStep: (model, batch: XY) => {
      if ((batch.x.shape[0] ?? 0) > limit) throw new Error(message)
      return { loss: tf.mean(tf.squaredDifference(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)) as tf.Scalar }
    },
    optimizer: optim.sgd({ lr: 0.1 }),
  })
const rows = (n: number) => (batchSize: number) => ({ train: fromArrays(lineArrays(n), { batchSize }) })
const run = (limit: number, options: Parameters<typeof scaleBatchSize>[2], n = 1000) =>
  lastValueFrom(scaleBatchSize(fragile(limit), rows(n), options, { backend, signals: quiet }))

describe('tuner.isOutOfMemory', () => {
  it("knows the backends' out-of-memory errors, also wrapped in a step error, and nothing else", () => {
    for (const m of ['memory access out of bounds', 'Out of memory', 'OOM when allocating tensor with shape[1024,1024]', 'Array buffer allocation failed', 'Invalid typed array length: 4294967296', 'WebAssembly.Memory.grow(): Maximum memory size exceeded', 'Failed to allocate a GPUBuffer'])
      expect(isOutOfMemory(new Error(m)), m).toBe(true)
    expect(isOutOfMemory(stepError('train', 0, 3, undefined, new Error('memory access out of bounds')))).toBe(true)
    expect(isOutOfMemory(new Error('step failed', { cause: new RangeError('Array buffer allocation failed') }))).toBe(true)
    expect(isOutOfMemory(new Error('Error in matMul: inner shapes (3) and (4) of Tensors with shapes 2,3 and 4,5 must match'))).toBe(false)
    expect(isOutOfMemory(rxtrainError('StepError', 'the loss is not a scalar', 'return a scalar.'))).toBe(false)
    expect(isOutOfMemory(undefined)).toBe(false)
  })
})

describe('tuner.scaleBatchSize', () => {
  it('power: doubles until a batch runs out of memory and keeps the last that trained', async () => {
    const r = await run(24, { mode: 'power', initVal: 2 })
    expect(r.batchSize).toBe(16)
    expect(r.trials).toEqual([2, 4, 8, 16, 32].map((batchSize) => ({ batchSize, fits: batchSize <= 24 })))
  })

  it('binsearch: then bisects between the largest that fit and the smallest that failed', async () => {
    const r = await run(24, { mode: 'binsearch', initVal: 2 })
    expect(r.batchSize).toBe(24)
    expect(r.trials.map((t) => t.batchSize)).toEqual([2, 4, 8, 16, 32, 24, 28, 26, 25])
  })

  it('halves a first size that fails, and stops at maxTrials and at a batch holding the whole training set', async () => {
    expect((await run(5, { initVal: 32 })).trials.map((t) => `${t.batchSize}:${t.fits}`)).toEqual(['32:false', '16:false', '8:false', '4:true'])
    expect((await run(1000, { initVal: 2, maxTrials: 3 })).batchSize).toBe(8)
    expect((await run(1000, { initVal: 2 }, 20)).trials.map((t) => t.batchSize)).toEqual([2, 4, 8, 16, 32])
    expect((await run(0, { initVal: 4 })).batchSize).toBeUndefined()
  })

  it('fails with an error that is not out of memory, and refuses bad options', async () => {
    const other = await lastValueFrom(scaleBatchSize(fragile(8, 'shapes do not match'), rows(100), { initVal: 4 }, { backend, signals: quiet })).catch((e: unknown) => e)
    expect(isRxtrainError(other) && other.problem).toMatch(/shapes do not match/)
    const bad = await lastValueFrom(scaleBatchSize(fragile(8), rows(100), { initVal: 0 }, { backend, signals: quiet })).catch((e: unknown) => e)
    expect(isRxtrainError(bad) && bad.details).toMatchObject({ field: 'initVal' })
  })

  it('leaks no tensor across failed trials', async () => {
    const before = tf.memory().numTensors
    await run(24, { mode: 'binsearch', initVal: 2 })
    expect(tf.memory().numTensors).toBe(before)
  })

  it('decides the next size as Lightning does', () => {
    expect(nextBatchSize('power', { low: 8, high: undefined, successes: 3 }, 25, false)).toBe(16)
    expect(nextBatchSize('power', { low: 8, high: 16, successes: 3 }, 25, false)).toBeUndefined()
    expect(nextBatchSize('binsearch', { low: 8, high: 16, successes: 3 }, 25, false)).toBe(12)
    expect(nextBatchSize('binsearch', { low: 8, high: 9, successes: 3 }, 25, false)).toBeUndefined()
    expect(nextBatchSize('binsearch', { low: 8, high: undefined, successes: 3 }, 25, true)).toBeUndefined()
  })
})
