import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { metrics, nn, optim, tidy } from '../../src/index.js'
import type { TrainState } from '../../src/pipeline/events.js'
import { defineModule, type StepContext } from '../../src/pipeline/module.js'
import { computeGradients, trainStep } from '../../src/pipeline/step.js'
import { foldIn, key } from '../../src/random/key.js'
import { disposeTree, flattenParams, tensorsOf } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('cpu')
})

// A small classifier with every kind of moving part: dropout (keyed), batch norm (state).
const net = nn.sequential(
  nn.dense({ units: 8 }),
  nn.batchNorm(),
  nn.relu(),
  nn.dropout(0.5),
  nn.dense({ units: 3 }),
)
type Batch = { x: tf.Tensor; y: tf.Tensor }
const classifier = defineModule({
  init: (k) => net.init(k, [4]),
  trainingStep: (model, batch: Batch, ctx) => {
    const out = net.apply(model, batch.x, ctx)
    const loss = nn.softmaxCrossEntropy(out.y, batch.y)
    return { loss, state: out.state, logs: { 'train/acc': metrics.accuracy(out.y, batch.y) } }
  },
  optimizer: optim.adam({ lr: 0.01 }),
})

const ctx: StepContext = { stage: 'train', training: true, key: key(7), epoch: 0, batchIdx: 0, globalStep: 0 }

const setup = () => {
  const model = classifier.init(key(0))
  const state: TrainState = { params: model.params, state: model.state, optState: classifier.optimizer.init(model.params) }
  const batch = {
    x: tf.tensor2d(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [6, 4]),
    y: tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'),
  }
  return { state, batch }
}

const valuesOf = (tree: unknown): number[][] => tensorsOf(tree).map((t) => Array.from(t.dataSync()))

describe('a training step is a pure function', () => {
  it('called twice on the same inputs, it returns equal outputs and disposes nothing it was given', () => {
    const { state, batch } = setup()
    const given = tensorsOf([state, batch])
    const step = trainStep(classifier, classifier.optimizer)
    const first = tidy(() => step(state, batch, ctx))
    const second = tidy(() => step(state, batch, ctx))
    expect(given.every((t) => !t.isDisposed)).toBe(true)
    expect(first.loss.dataSync()[0]).toBe(second.loss.dataSync()[0])
    expect(valuesOf(first.state)).toEqual(valuesOf(second.state))
    expect(valuesOf(first.logs)).toEqual(valuesOf(second.logs))
    // and it did something: parameters moved, batch-norm statistics moved
    expect(valuesOf(first.state.params)).not.toEqual(valuesOf(state.params))
    expect(valuesOf(first.state.state)).not.toEqual(valuesOf(state.state))
    disposeTree([first, second, state, batch])
  })

  it('depends on the step key (dropout) and on nothing else', () => {
    const { state, batch } = setup()
    const step = trainStep(classifier, classifier.optimizer)
    const a = tidy(() => step(state, batch, ctx))
    const b = tidy(() => step(state, batch, { ...ctx, key: foldIn(ctx.key, 1) }))
    expect(a.loss.dataSync()[0]).not.toBe(b.loss.dataSync()[0])
    disposeTree([a, b, state, batch])
  })

  it('leaks nothing: after releasing outputs the tensor count is back where it was', () => {
    const { state, batch } = setup()
    const before = tf.memory().numTensors
    const step = trainStep(classifier, classifier.optimizer)
    const out = tidy(() => step(state, batch, ctx))
    const kept = new Set(tensorsOf([state, batch]).map((t) => t.id))
    for (const t of tensorsOf(out)) if (!kept.has(t.id)) t.dispose()
    expect(tf.memory().numTensors).toBe(before)
    disposeTree([state, batch])
  })

  it('keeping only the next state (the README pattern) leaves nothing else behind', () => {
    const { state, batch } = setup()
    const before = tf.memory().numTensors
    const step = trainStep(classifier, classifier.optimizer)
    const next = tidy(() => step(state, batch, ctx).state)
    const kept = new Set(tensorsOf([state, batch]).map((t) => t.id))
    for (const t of tensorsOf(next)) if (!kept.has(t.id)) t.dispose()
    expect(tf.memory().numTensors).toBe(before)
    disposeTree([state, batch])
  })

  it('a step that fails after the forward pass (in the optimizer) leaks nothing', () => {
    const { state, batch } = setup()
    const before = tf.memory().numTensors
    const failing = { ...classifier.optimizer, update: () => { throw new Error('optimizer failed') } }
    expect(() => tidy(() => trainStep(classifier, failing)(state, batch, ctx))).toThrow(/optimizer failed/)
    expect(tf.memory().numTensors).toBe(before)
    disposeTree([state, batch])
  })

  it('computeGradients gives zeros for parameters the loss does not use', () => {
    const params = { used: tf.scalar(2), unused: tf.scalar(5) }
    const g = tidy(() =>
      computeGradients({ trainingStep: (m) => ({ loss: tf.square(m.params.used) as tf.Scalar }) }, { params, state: {} }, undefined, ctx),
    )
    const leaves = Object.fromEntries(flattenParams(g.grads).map((l) => [l.path, l.tensor.dataSync()[0]]))
    expect(leaves).toEqual({ used: 4, unused: 0 })
    disposeTree([g, params])
  })

  it('divides the loss by the accumulation count before differentiating', () => {
    const params = { w: tf.scalar(3) }
    const g = tidy(() =>
      computeGradients({ trainingStep: (m) => ({ loss: tf.square(m.params.w) as tf.Scalar }) }, { params, state: {} }, undefined, ctx, { lossDivisor: 4 }),
    )
    // d/dw (w^2 / 4) = w / 2 = 1.5; the reported loss stays w^2 = 9
    expect((g.grads.w as tf.Tensor).dataSync()[0]).toBe(1.5)
    expect(g.loss.dataSync()[0]).toBe(9)
    disposeTree([g, params])
  })

  it('rejects a non-scalar loss with a ShapeError', () => {
    const params = { w: tf.ones([3]) }
    expect(() =>
      tidy(() => computeGradients({ trainingStep: (m) => ({ loss: tf.mul(m.params.w, 2) as unknown as tf.Scalar }) }, { params, state: {} }, undefined, ctx)),
    ).toThrow(/scalar loss.*\[3\]/)
    disposeTree(params)
  })
})
