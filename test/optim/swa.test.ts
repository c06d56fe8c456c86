import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { manualSignals } from '../../src/effects/signals.js'
import { nn, optim, stochasticWeightAveraging, swaModel } from '../../src/index.js'
import type { FitEnd, FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { cloneTree, disposeTree, flattenParams } from '../../src/tree/tree.js'
import type { Params } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import { interruptAndResume } from '../support/resumeRun.js'
import type { XY } from '../support/tiny.js'
import { step, valuesOf } from './helpers.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** Runs `epochs` epochs of `perEpoch` steps on gradient 1 and returns each step's update of w, and the epoch-end values of w. */
const drive = (optimizer: optim.GradientTransform, epochs: number, perEpoch: number) => {
  let params: Params = { w: tf.tensor1d([0]) }
  let state = optimizer.init(params)
  const updates: number[] = []
  const ends: number[] = []
  for (let e = 0; e < epochs; e++) {
    for (let b = 0; b < perEpoch; b++) {
      const s = step(optimizer, params, state, () => ({ w: tf.tensor1d([1]) }))
      params = s.params
      state = s.state
      updates.push((s.updates.w as number[])[0] as number)
    }
    ends.push((valuesOf(params).w as number[])[0] as number)
    state = optimizer.observe?.(state, {}) ?? state
  }
  return { params, state, updates, ends }
}

describe('stochasticWeightAveraging: the transform', () => {
  const f = Math.fround
  it("anneals the rate from swaEpochStart to swaLrs over annealingEpochs, once an epoch (SWALR's linear rule)", () => {
    const run = drive(stochasticWeightAveraging({ swaLrs: 0.01, swaEpochStart: 1, annealingEpochs: 3, annealingStrategy: 'linear' }, optim.sgd({ lr: 0.1 })), 6, 1)
    const expected = [0.1, 0.1, 0.1 * (2 / 3) + 0.01 / 3, 0.1 / 3 + 0.01 * (2 / 3), 0.01, 0.01]
    run.updates.forEach((u, i) => expect(u, `epoch ${i}`).toBeCloseTo(-expected[i]!, 6))
    disposeTree([run.params, run.state])
  })

  it("and with 'cos': alpha = (1 - cos(pi t)) / 2", () => {
    const run = drive(stochasticWeightAveraging({ swaLrs: 0.01, swaEpochStart: 1, annealingEpochs: 3 }, optim.sgd({ lr: 0.1 })), 5, 1)
    const alpha = (t: number) => (1 - Math.cos(Math.PI * t)) / 2
    const expected = [0.1, 0.1, ...[1 / 3, 2 / 3, 1].map((t) => 0.01 * alpha(t) + 0.1 * (1 - alpha(t)))]
    run.updates.forEach((u, i) => expect(u, `epoch ${i}`).toBeCloseTo(-expected[i]!, 6))
    expect(optim.chain().hyperparams).toBeUndefined()
    disposeTree([run.params, run.state])
  })

  it('averages the weights at the end of each epoch from swaEpochStart on (the last one too)', () => {
    const run = drive(stochasticWeightAveraging({ swaLrs: 0.05, swaEpochStart: 2, annealingEpochs: 1 }, optim.sgd({ lr: 0.1 })), 5, 2)
    const averaged = tf.tidy(() => optim.swaParams(run.state, run.params) as Params)
    const ends = run.ends.slice(2)
    expect((valuesOf(averaged).w as number[])[0]).toBeCloseTo(ends.reduce((a, b) => a + b, 0) / ends.length, 6)
    expect(f(ends[0]!)).not.toBe(f(ends[2]!))
    disposeTree([run.params, run.state, averaged])
  })

  it('has no average before swaEpochStart, and holds no copy of the weights before it', () => {
    const run = drive(stochasticWeightAveraging({ swaLrs: 0.05, swaEpochStart: 3 }, optim.sgd({ lr: 0.1 })), 2, 2)
    expect(optim.swaParams(run.state, run.params)).toBeUndefined()
    expect((run.state as optim.SwaState<null>).swaAverage).toBeNull()
    disposeTree([run.params, run.state])
  })

  it('needs an optimizer that reports its rate', () => {
    expect(() => stochasticWeightAveraging({ swaLrs: 0.05, swaEpochStart: 1 }, optim.scaleByAdam()).init({ w: tf.zeros([1]) })).toThrow(/does not report a learning rate/)
  })
})

const net = nn.sequential(nn.dense({ units: 5 }), nn.batchNorm(), nn.dense({ units: 3 }))
const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) * 2 + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const train = fromArrays(blobs(24), { batchSize: 6, shuffle: true })
const data = { train, val: fromArrays(blobs(12), { batchSize: 6 }) }
const swaModule = () =>
  defineModule({
    init: (k) => net.init(k, [4]),
    trainingStep: (model, batch: XY, ctx) => {
      const out = net.apply(model, batch.x, ctx)
      const loss = nn.softmaxCrossEntropy(out.y, batch.y)
      return { loss, state: out.state, logs: { 'train/loss': loss } }
    },
    validationStep: (model, batch: XY, ctx) => ({ 'val/loss': nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y) }),
    optimizer: stochasticWeightAveraging({ swaLrs: 0.02, swaEpochStart: 1, annealingEpochs: 2 }, optim.sgd({ lr: 0.1, momentum: 0.9 })),
  })

describe('stochasticWeightAveraging in fit', () => {
  for (const batch of [3, 6, 10]) {
    it(`interrupted after training batch ${batch} and resumed: parameters, average and state bitwise the same`, async () => {
      let n = 0
      const { full, resumed } = await interruptAndResume(swaModule(), data, { maxEpochs: 4, numSanityValSteps: 0, seed: 4 }, backend, (e) => e.type === 'trainStep' && ++n === batch)
      expect(resumed.params).toEqual(full.params)
      expect(resumed.state).toEqual(full.state)
      expect(resumed.optState).toEqual(full.optState)
      expect(resumed.optPlain).toEqual(full.optPlain)
    })
  }

  it("swaModel: the averaged weights, with batch-norm statistics recomputed as the plain mean over one pass of the training data", async () => {
    const module = swaModule()
    let end: { params: Params; state: Params; optState: unknown } | undefined
    await lastValueFrom(
      fit(module, data, { maxEpochs: 3, numSanityValSteps: 0, seed: 4 }, { backend, signals: manualSignals() }).pipe(
        tap((e: FitEvent) => {
          if (e.type === 'fitEnd') end = cloneTree({ params: (e as FitEnd).state.params, state: (e as FitEnd).state.state, optState: (e as FitEnd).state.optState })
        }),
      ),
    )
    const finalState = end as { params: Params; state: Params; optState: never }
    const before = tf.memory().numTensors
    const model = await swaModel(module, train, finalState, backend)
    expect(tf.memory().numTensors).toBe(before + flattenParams(model.params).length + flattenParams(model.state).length)
    const expectedParams = tf.tidy(() => optim.swaParams(finalState.optState, finalState.params) as Params)
    expect(valuesOf(model.params)).toEqual(valuesOf(expectedParams))
    // the statistics by hand: the batch-norm inputs of every batch (natural order), with the averaged weights
    const it2 = train.open({ key: [0, 0] as never, noShuffle: true })
    const means: number[][] = []
    const vars: number[][] = []
    for (let r = it2.next(); !('subscribe' in r) && r.done !== true; r = it2.next()) {
      const b = r.value as XY
      tf.tidy(() => {
        const dense0 = (expectedParams as Record<string, Params>).dense0 as Params
        const h = tf.add(tf.matMul(b.x, dense0.kernel as tf.Tensor), dense0.bias as tf.Tensor)
        const { mean, variance } = tf.moments(h, [0])
        means.push(Array.from(mean.dataSync()))
        vars.push(Array.from(tf.mul(variance, 6 / 5).dataSync()))
      })
      disposeTree(b)
    }
    it2.close()
    const avg = (rows: number[][]) => rows[0]!.map((_, j) => rows.reduce((s, row) => s + row[j]!, 0) / rows.length)
    const bn = (model.state as Record<string, Params>).batchNorm1 as Params
    Array.from((bn.runningMean as tf.Tensor).dataSync()).forEach((v, j) => expect(v).toBeCloseTo(avg(means)[j]!, 5))
    Array.from((bn.runningVar as tf.Tensor).dataSync()).forEach((v, j) => expect(v).toBeCloseTo(avg(vars)[j]!, 5))
    // and they differ from the statistics the run ended with (a momentum average of other weights)
    expect(valuesOf(bn)).not.toEqual(valuesOf((finalState.state as Record<string, Params>).batchNorm1 as Params))
    disposeTree([model, expectedParams, finalState])
  })
})
