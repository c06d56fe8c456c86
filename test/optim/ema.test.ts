import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { metrics, nn, optim } from '../../src/index.js'
import { defineModule } from '../../src/pipeline/module.js'
import { disposeTree } from '../../src/tree/tree.js'
import type { Params } from '../../src/tree/tree.js'
import { lastValueFrom, tap } from 'rxjs'
import { encodeCheckpoint, writeCheckpoint } from '../../src/checkpoint/writeCheckpoint.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { evalMetrics } from '../../src/hooks/evalMetrics.js'
import { validate } from '../../src/pipeline/evaluate.js'
import type { FitEnd, FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { useBackend } from '../support/backend.js'
import { workWhen } from '../support/hooks.js'
import { interruptAndResume, runValues } from '../support/resumeRun.js'
import type { XY } from '../support/tiny.js'
import { step, tinyTree, valuesOf } from './helpers.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const grads = (): Params => ({ w: tf.tensor1d([0.5, -1]), b: { c: tf.tensor1d([2]) } })

describe('optim.ema: the laws', () => {
  it('passes the updates through unchanged: training is bitwise what it is without it', () => {
    const plain = optim.sgd({ lr: 0.1, momentum: 0.9 })
    const averaged = optim.chain(optim.sgd({ lr: 0.1, momentum: 0.9 }), optim.ema(0.9))
    let a = { params: tinyTree(1, 2, 3), state: plain.init(tinyTree(1, 2, 3)) as never }
    let b = { params: tinyTree(1, 2, 3), state: averaged.init(tinyTree(1, 2, 3)) as never }
    for (let i = 0; i < 4; i++) {
      const sa = step(plain, a.params, a.state, grads)
      const sb = step(averaged, b.params, b.state, grads)
      expect(sb.updates).toEqual(sa.updates)
      a = { params: sa.params, state: sa.state as never }
      b = { params: sb.params, state: sb.state as never }
    }
    expect(valuesOf(b.params)).toEqual(valuesOf(a.params))
    disposeTree([a, b])
  })

  it('keeps decay ema + (1 - decay) params after each step, and debiases by 1 - decay^t (Optax)', () => {
    const decay = 0.5
    const optimizer = optim.chain(optim.sgd({ lr: 1 }), optim.ema({ decay, evaluate: false }))
    let params = tinyTree(0, 0, 0)
    let state = optimizer.init(params)
    const history: number[] = []
    for (let i = 0; i < 3; i++) {
      const s = step(optimizer, params, state, () => ({ w: tf.tensor1d([-1, -2]), b: { c: tf.tensor1d([-4]) } }))
      params = s.params
      state = s.state
      history.push((valuesOf(params).w as number[])[0] as number)
    }
    expect(history).toEqual([1, 2, 3])
    // raw: 0.5 * (0.5 * (0.5 * 1) + 0.5 * 2) ... computed by the recurrence
    const raw = history.reduce((e, x) => decay * e + (1 - decay) * x, 0)
    expect((valuesOf(state[1].ema).w as number[])[0]).toBeCloseTo(raw, 6)
    expect(state[1].emaCount).toBe(3)
    const averaged = optim.averagedParams(state, params) as Params
    expect((valuesOf(averaged).w as number[])[0]).toBeCloseTo(raw / (1 - decay ** 3), 6)
    // evaluation picks only averages declared with `evaluate`
    expect(optim.averagedParams(state, params, true)).toBeUndefined()
    disposeTree([params, state, averaged])
  })

  it('without debias returns the raw average; before any step there is none', () => {
    const optimizer = optim.chain(optim.sgd({ lr: 1 }), optim.ema({ decay: 0.5, debias: false }))
    const params = tinyTree(1, 1, 1)
    const state = optimizer.init(params)
    expect(optim.averagedParams(state, params)).toBeUndefined()
    const s = step(optimizer, params, state, () => ({ w: tf.tensor1d([-1, -1]), b: { c: tf.tensor1d([-1]) } }))
    const averaged = optim.averagedParams(s.state, s.params) as Params
    expect(valuesOf(averaged)).toEqual({ w: [1, 1], 'b/c': [1] }) // 0.5 * 0 + 0.5 * 2
    disposeTree([s, averaged])
  })

  it('inside a parameter group, averages that group only; the other leaves keep their trained values', () => {
    const optimizer = optim.multiTransform({ avg: optim.chain(optim.sgd({ lr: 1 }), optim.ema(0.5)), plain: optim.sgd({ lr: 1 }) }, (path) => (path === 'w' ? 'avg' : 'plain'))
    const params = tinyTree(0, 0, 0)
    const s1 = step(optimizer, params, optimizer.init(params), () => ({ w: tf.tensor1d([-1, -1]), b: { c: tf.tensor1d([-1]) } }))
    const s2 = step(optimizer, s1.params, s1.state, () => ({ w: tf.tensor1d([-1, -1]), b: { c: tf.tensor1d([-1]) } }))
    const averaged = optim.averagedParams(s2.state, s2.params) as Params
    const raw = 0.5 * (0.5 * 1) + 0.5 * 2
    expect(valuesOf(averaged)).toEqual({ w: [Math.fround(raw / 0.75), Math.fround(raw / 0.75)], 'b/c': [2] })
    disposeTree([s2, averaged])
  })

  it('rejects a decay outside [0, 1) with a ConfigError naming it', () => {
    expect(() => optim.ema(1)).toThrow(/ema: decay must be in \[0, 1\)/)
  })
})

const net = nn.sequential(nn.dense({ units: 6, activation: 'relu' }), nn.dense({ units: 3 }))
const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const data = { train: fromArrays(blobs(40), { batchSize: 8, shuffle: true }), val: fromArrays(blobs(16), { batchSize: 8 }) }
const emaModule = (evaluate: boolean) =>
  defineModule({
    init: (k) => net.init(k, [4]),
    trainingStep: (model, batch: XY, ctx) => {
      const loss = nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y)
      return { loss, logs: { 'train/loss': loss } }
    },
    validationStep: (model, batch: XY, ctx) => ({ 'val/loss': nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y), 'val/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
    optimizer: optim.chain(optim.adam({ lr: 0.05 }), optim.ema({ decay: 0.8, evaluate })),
  })

describe('optim.ema in fit', () => {
  it('validates with the averaged weights when asked (evaluate), with the trained ones otherwise; training is the same', async () => {
    const withAverage = await runValues(emaModule(true), data, { maxEpochs: 2, numSanityValSteps: 0 }, backend)
    const without = await runValues(emaModule(false), data, { maxEpochs: 2, numSanityValSteps: 0 }, backend)
    expect(withAverage.params).toEqual(without.params)
    expect(withAverage.optState).toEqual(without.optState)
    expect(withAverage.validations).not.toEqual(without.validations)
  })

  it('validating with the average leaks no tensors', async () => {
    const before = tf.memory().numTensors
    await runValues(emaModule(true), data, { maxEpochs: 1, numSanityValSteps: 0 }, backend)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('validate and test with ckptPath evaluate the averaged weights of the checkpoint, as fit validated them', async () => {
    for (const evaluate of [true, false]) {
      const module = emaModule(evaluate)
      const fs = memoryFileSystem()
      const seen: string[] = []
      const save = workWhen(
        (e) => e.type === 'fitEnd',
        (e) => {
          const end = e as FitEnd
          const files = encodeCheckpoint({ state: end.state, weightsOnly: false, loop: end.loop, hookStates: {}, options: null, precision: { name: '32-true', storageDtype: 'float32' }, meta: {}, createdAt: 'now' })
          return writeCheckpoint(fs, '/ckpt', 'last', files)().then(() => undefined)
        },
      )
      await lastValueFrom(
        fit(module, data, { maxEpochs: 2, numSanityValSteps: 0 }, { backend, signals: manualSignals() }).pipe(
          tap((e: FitEvent) => {
            if (e.type === 'validationEnd') seen.push(JSON.stringify(e.metrics))
          }),
          save,
        ),
      )
      const metricsOf = await lastValueFrom(validate(module, undefined, data, { ckptPath: '/ckpt/last' }, { backend, fs }).pipe(evalMetrics()))
      expect(JSON.stringify(metricsOf), `evaluate: ${evaluate}`).toBe(seen[seen.length - 1])
    }
  })

  for (const batches of [2, 5, 7]) {
    it(`interrupted after training batch ${batches} and resumed: parameters, EMA state and validations bitwise the same`, async () => {
      let n = 0
      const { full, resumed, firstValidations } = await interruptAndResume(emaModule(true), data, { maxEpochs: 3, numSanityValSteps: 0, valCheckInterval: 3 }, backend, (e) => e.type === 'trainStep' && ++n === batches)
      expect(resumed.params).toEqual(full.params)
      expect(resumed.optState).toEqual(full.optState)
      expect(resumed.optPlain).toEqual(full.optPlain)
      expect(resumed.validations).toEqual(full.validations.slice(firstValidations))
    })
  }
})
