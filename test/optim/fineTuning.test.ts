import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { backboneFinetuning, gradientAccumulationScheduler, nn, optim } from '../../src/index.js'
import type { BackboneState } from '../../src/optim/backboneFinetuning.js'
import { defineModule } from '../../src/pipeline/module.js'
import { disposeTree, tensorsOf } from '../../src/tree/tree.js'
import type { Params } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import { interruptAndResume, runValues } from '../support/resumeRun.js'
import type { XY } from '../support/tiny.js'
import { step, valuesOf } from './helpers.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const tree = (): Params => ({ backbone: { w: tf.tensor1d([1, 2]) }, head: { w: tf.tensor1d([3]) } })
const ones = (): Params => ({ backbone: { w: tf.tensor1d([1, 1]) }, head: { w: tf.tensor1d([1]) } })

describe('backboneFinetuning: the transform', () => {
  it('keeps the backbone frozen (no state) until the unfreeze epoch, then scales its rate by the ratio, ramped by lambdaFunc and capped at the head rate', () => {
    const optimizer = backboneFinetuning({
      backbone: (path) => path.startsWith('backbone/'),
      optimizer: optim.sgd({ lr: 0.1 }),
      unfreezeBackboneAtEpoch: 2,
      backboneInitialRatioLr: 0.1,
      lambdaFunc: () => 2,
    })
    let params = tree()
    let state = optimizer.init(params)
    expect(tensorsOf(state.backbone)).toHaveLength(0)
    const seen: { backbone: number[]; head: number[]; lr: Readonly<Record<string, number>> }[] = []
    for (let epoch = 0; epoch < 7; epoch++) {
      const s = step(optimizer, params, state, ones)
      params = s.params
      seen.push({ backbone: s.updates['backbone/w'] as number[], head: s.updates['head/w'] as number[], lr: optimizer.hyperparams?.(s.state) ?? {} })
      if (epoch < 2) expect(tensorsOf(s.state.backbone), `epoch ${epoch}`).toHaveLength(0)
      state = optimizer.observe?.(s.state, {}) ?? s.state
    }
    const f = Math.fround
    expect(seen.map((s) => s.backbone[0])).toEqual([0, 0, f(-0.1) * f(0.1), f(-0.1) * f(0.2), f(-0.1) * f(0.4), f(-0.1) * f(0.8), f(-0.1)].map(f))
    expect(seen.map((s) => s.head[0])).toEqual(Array(7).fill(f(-0.1)))
    expect(seen.map((s) => s.lr['backbone/lr'])).toEqual([0, 0, 0.1 * 0.1, 0.1 * 0.2, 0.1 * 0.4, 0.1 * 0.8, 0.1])
    expect((state.backbone as BackboneState).ratio).toBe(1)
    disposeTree([params, state])
  })

  it('without shouldAlign the ratio keeps growing past the head rate', () => {
    const optimizer = backboneFinetuning({ backbone: (p) => p.startsWith('backbone/'), optimizer: optim.sgd({ lr: 0.1 }), unfreezeBackboneAtEpoch: 0, backboneInitialRatioLr: 0.5, lambdaFunc: () => 3, shouldAlign: false })
    let state = optimizer.init(tree())
    state = optimizer.observe?.(state, {}) ?? state
    expect((state.backbone as BackboneState).ratio).toBe(1.5)
  })

  it('rejects a bad unfreeze epoch with a ConfigError naming it', () => {
    expect(() => backboneFinetuning({ backbone: () => true, optimizer: optim.sgd({ lr: 0.1 }), unfreezeBackboneAtEpoch: -1 })).toThrow(/unfreezeBackboneAtEpoch must be an integer >= 0/)
  })
})

const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const data = { train: fromArrays(blobs(24), { batchSize: 4, shuffle: true }), val: fromArrays(blobs(8), { batchSize: 4 }) }
const backboneNet = nn.dense({ units: 5, activation: 'relu' })
const headNet = nn.dense({ units: 3 })
const fineTuned = (optimizer: optim.GradientTransform) =>
  defineModule({
    init: (k) => {
      const b = backboneNet.init(k, [4])
      const h = headNet.init(k, [5])
      return { params: { backbone: b.params, head: h.params }, state: {} }
    },
    trainingStep: (model, batch: XY, ctx) => {
      const features = backboneNet.apply({ params: model.params.backbone, state: {} }, batch.x, ctx).y
      const loss = nn.softmaxCrossEntropy(headNet.apply({ params: model.params.head, state: {} }, features, ctx).y, batch.y)
      return { loss, logs: { 'train/loss': loss } }
    },
    validationStep: (model, batch: XY, ctx) => {
      const features = backboneNet.apply({ params: model.params.backbone, state: {} }, batch.x, ctx).y
      return { 'val/loss': nn.softmaxCrossEntropy(headNet.apply({ params: model.params.head, state: {} }, features, ctx).y, batch.y) }
    },
    optimizer,
  })
const finetuning = () => fineTuned(backboneFinetuning({ backbone: (p) => p.startsWith('backbone/'), optimizer: optim.adam({ lr: 0.01 }), unfreezeBackboneAtEpoch: 2, lambdaFunc: () => 2 }))

describe('backboneFinetuning in fit (acceptance)', () => {
  it('frozen leaves are bitwise unchanged and hold no optimizer state until the unfreeze epoch; then they move', async () => {
    const frozenRun = await runValues(finetuning(), data, { maxEpochs: 2, numSanityValSteps: 0, seed: 3 }, backend)
    const untrained = await runValues(fineTuned(optim.sgd({ lr: 0 })), data, { maxEpochs: 1, numSanityValSteps: 0, seed: 3 }, backend)
    const paths = ['backbone/bias', 'backbone/kernel', 'head/bias', 'head/kernel']
    const byPath = (values: number[][]) => Object.fromEntries(paths.map((p, i) => [p, values[i]]))
    const frozen = byPath(frozenRun.params)
    const start = byPath(untrained.params)
    expect(frozen['backbone/kernel']).toEqual(start['backbone/kernel'])
    expect(frozen['backbone/bias']).toEqual(start['backbone/bias'])
    expect(frozen['head/kernel']).not.toEqual(start['head/kernel'])
    // Adam's moments exist for the head's two leaves only (mu and nu each): 4 tensors
    expect(frozenRun.optState).toHaveLength(4)
    expect(frozenRun.optPlain).toContain('"backbone":{"epoch":2,"ratio":0.1,"inner":null}')
    const unfrozen = byPath((await runValues(finetuning(), data, { maxEpochs: 3, numSanityValSteps: 0, seed: 3 }, backend)).params)
    expect(unfrozen['backbone/kernel']).not.toEqual(start['backbone/kernel'])
  })

  for (const [name, batch] of [['before the unfreeze (epoch 1)', 8], ['in the unfreeze epoch', 15], ['after it', 20]] as const) {
    it(`interrupted ${name} and resumed: bitwise the same parameters and optimizer state`, async () => {
      let n = 0
      const { full, resumed } = await interruptAndResume(finetuning(), data, { maxEpochs: 4, numSanityValSteps: 0, seed: 3 }, backend, (e) => e.type === 'trainStep' && ++n === batch)
      expect(resumed.params).toEqual(full.params)
      expect(resumed.optState).toEqual(full.optState)
      expect(resumed.optPlain).toEqual(full.optPlain)
    })
  }
})

describe('gradientAccumulationScheduler: the transform', () => {
  const g = (v: number): Params => ({ w: tf.tensor1d([v]) })
  it('steps every k updates with the mean, k by epoch; zero updates between', () => {
    const optimizer = gradientAccumulationScheduler({ 0: 2, 1: 3 }, optim.sgd({ lr: 1 }))
    let params: Params = { w: tf.tensor1d([0]) }
    let state = optimizer.init(params)
    const out: number[] = []
    const run = (values: number[]) => {
      for (const v of values) {
        const s = step(optimizer, params, state, () => g(v))
        params = s.params
        state = s.state
        out.push((s.updates.w as number[])[0] as number)
      }
    }
    run([1, 3, 5, 7]) // epoch 0: k = 2
    state = optimizer.observe?.(state, {}) ?? state
    run([1, 2, 6]) // epoch 1: k = 3
    expect(out).toEqual([0, -2, 0, -6, 0, 0, -3])
    expect(state.epoch).toBe(1)
    disposeTree([params, state])
  })

  it("a window cut short by the epoch's end steps with the next update, on its own k (Lightning divides by k)", () => {
    const optimizer = gradientAccumulationScheduler({ 0: 4, 1: 2 }, optim.sgd({ lr: 1 }))
    let params: Params = { w: tf.tensor1d([0]) }
    let state = optimizer.init(params)
    const out: number[] = []
    const run = (values: number[]) => {
      for (const v of values) {
        const s = step(optimizer, params, state, () => g(v))
        params = s.params
        state = s.state
        out.push((s.updates.w as number[])[0] as number)
      }
    }
    run([4, 8]) // two of four
    state = optimizer.observe?.(state, {}) ?? state
    run([2, 6])
    // the cut window: (4 + 8) / 4 = 3, stepped with epoch 1's first batch; then (2 + 6) / 2
    expect(out).toEqual([0, 0, -3, -4])
    expect(valuesOf(params).w).toEqual([-7])
    disposeTree([params, state])
  })

  it('rejects k < 1 with a ConfigError naming the epoch', () => {
    expect(() => gradientAccumulationScheduler({ 0: 1, 3: 0 }, optim.sgd({ lr: 1 }))).toThrow(/scheduling\[3\] must be an integer >= 1/)
  })
})

describe('gradientAccumulationScheduler in fit', () => {
  const scheduled = () => fineTuned(gradientAccumulationScheduler({ 0: 1, 1: 4, 2: 2 }, optim.adam({ lr: 0.01 })))
  it('equals plain accumulation within an epoch: k batches of b step as the loop accumulating k', async () => {
    const viaScheduler = await runValues(fineTuned(gradientAccumulationScheduler({ 0: 3 }, optim.sgd({ lr: 0.1 }))), data, { maxEpochs: 1, numSanityValSteps: 0, seed: 1 }, backend)
    const viaLoop = await runValues(fineTuned(optim.sgd({ lr: 0.1 })), data, { maxEpochs: 1, numSanityValSteps: 0, seed: 1, accumulateGradBatches: 3 }, backend)
    viaScheduler.params.forEach((leaf, i) => leaf.forEach((v, j) => expect(v).toBeCloseTo((viaLoop.params[i] as number[])[j] as number, 6)))
  })

  for (const batch of [5, 8, 14]) {
    it(`interrupted after training batch ${batch} (mid-window) and resumed: bitwise the same`, async () => {
      let n = 0
      const { full, resumed } = await interruptAndResume(scheduled(), data, { maxEpochs: 3, numSanityValSteps: 0, seed: 2 }, backend, (e) => e.type === 'trainStep' && ++n === batch)
      expect(resumed.params).toEqual(full.params)
      expect(resumed.optState).toEqual(full.optState)
      expect(resumed.optPlain).toEqual(full.optPlain)
    })
  }
})
