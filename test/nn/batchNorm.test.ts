import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { batchNorm } from '../../src/nn/batchNorm.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, trainCtx, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const EPS = 1e-5

// Two examples, two features: feature 0 = {1, 3}, feature 1 = {10, 30}.
// feature 0: mean 2, biased var ((1−2)² + (3−2)²)/2 = 1, unbiased 2/1 = 2
// feature 1: mean 20, biased var 100, unbiased 200
const x = (): tf.Tensor => tf.tensor([
  [1, 10],
  [3, 30],
])

describe('batchNorm', () => {
  it('init: gamma ones, beta zeros, running mean zeros and variance ones, per channel', () => {
    const { params, state, outputShape } = batchNorm().init(key(0), [5, 5, 3])
    expect(valuesOf(params.gamma)).toEqual([1, 1, 1])
    expect(valuesOf(params.beta)).toEqual([0, 0, 0])
    expect(valuesOf(state.runningMean)).toEqual([0, 0, 0])
    expect(valuesOf(state.runningVar)).toEqual([1, 1, 1])
    expect(outputShape).toEqual([5, 5, 3])
  })

  it('training normalises with the biased batch variance', () => {
    const layer = batchNorm()
    const { y } = layer.apply(layer.init(key(0), [2]), x(), trainCtx())
    const a = 1 / Math.sqrt(1 + EPS) // (1 − 2)/sqrt(1 + eps) = −a
    const b = 10 / Math.sqrt(100 + EPS) // (10 − 20)/sqrt(100 + eps) = −b
    expectTensor(y, [2, 2], [-a, -b, a, b])
  })

  it('training applies gamma and beta', () => {
    const layer = batchNorm()
    const { state } = layer.init(key(0), [2])
    const params = { gamma: tf.tensor([2, 3]), beta: tf.tensor([0.5, -1]) }
    const { y } = layer.apply({ params, state }, x(), trainCtx())
    const a = 1 / Math.sqrt(1 + EPS)
    const b = 10 / Math.sqrt(100 + EPS)
    expectTensor(y, [2, 2], [-2 * a + 0.5, -3 * b - 1, 2 * a + 0.5, 3 * b - 1])
  })

  it('training returns the next running stats with the UNBIASED variance (momentum 0.1)', () => {
    const layer = batchNorm()
    const model = layer.init(key(0), [2])
    const { state } = layer.apply(model, x(), trainCtx())
    // mean: 0.9·0 + 0.1·[2, 20] = [0.2, 2]; var: 0.9·1 + 0.1·[2, 200] = [1.1, 20.9]
    expectTensor(state.runningMean, [2], [0.2, 2])
    expectTensor(state.runningVar, [2], [1.1, 20.9])
    // the previous state is untouched
    expect(valuesOf(model.state.runningMean)).toEqual([0, 0])
    expect(valuesOf(model.state.runningVar)).toEqual([1, 1])
  })

  it('a second training step folds into the running stats again (momentum 0.5)', () => {
    const layer = batchNorm({ momentum: 0.5 })
    const s1 = layer.apply(layer.init(key(0), [2]), x(), trainCtx()).state
    const { params } = layer.init(key(0), [2])
    const s2 = layer.apply({ params, state: s1 }, x(), trainCtx()).state
    // step 1: mean 0.5·[2, 20] = [1, 10], var 0.5·1 + 0.5·[2, 200] = [1.5, 100.5]
    // step 2: mean [1.5, 15], var 0.5·[1.5, 100.5] + 0.5·[2, 200] = [1.75, 150.25]
    expectTensor(s2.runningMean, [2], [1.5, 15])
    expectTensor(s2.runningVar, [2], [1.75, 150.25], 1e-4)
  })

  it('evaluation uses the running stats and returns the state unchanged', () => {
    const layer = batchNorm()
    const { params } = layer.init(key(0), [2])
    const state = { runningMean: tf.tensor([0.2, 2]), runningVar: tf.tensor([1.1, 20.9]) }
    const out = layer.apply({ params, state }, tf.tensor([[1, 10]]), evalCtx)
    // (1 − 0.2)/sqrt(1.1 + eps), (10 − 2)/sqrt(20.9 + eps)
    expectTensor(out.y, [1, 2], [0.8 / Math.sqrt(1.1 + EPS), 8 / Math.sqrt(20.9 + EPS)])
    expect(out.state).toBe(state)
  })

  it('NHWC: statistics over batch, height and width per channel', () => {
    // [2, 1, 2, 2]: channel 0 = {1, 3, 5, 7}: mean 4, biased var 5, unbiased 20/3
    //               channel 1 = {2, 4, 6, 8}: mean 5, same variances
    const layer = batchNorm()
    const img = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2])
    const out = layer.apply(layer.init(key(0), [1, 2, 2]), img, trainCtx())
    const s = Math.sqrt(5 + EPS)
    expectTensor(out.y, [2, 1, 2, 2], [-3 / s, -3 / s, -1 / s, -1 / s, 1 / s, 1 / s, 3 / s, 3 / s])
    expectTensor(out.state.runningMean, [2], [0.4, 0.5])
    expectTensor(out.state.runningVar, [2], [0.9 + 0.1 * (20 / 3), 0.9 + 0.1 * (20 / 3)])
  })

  it('axis 1 normalises channels-first data [batch, channels, length]', () => {
    // [1, 2, 2]: channel 0 = {1, 3}, channel 1 = {10, 30}
    const layer = batchNorm({ axis: 1 })
    const model = layer.init(key(0), [2, 2])
    expect(model.params.gamma.shape).toEqual([2])
    const out = layer.apply(model, tf.tensor([1, 3, 10, 30], [1, 2, 2]), trainCtx())
    const a = 1 / Math.sqrt(1 + EPS)
    const b = 10 / Math.sqrt(100 + EPS)
    expectTensor(out.y, [1, 2, 2], [-a, a, -b, b])
  })

  it('gradient w.r.t. beta is the count per channel, w.r.t. gamma Σ x̂ = 0', () => {
    const layer = batchNorm()
    const { state } = layer.init(key(0), [2])
    const f = (gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor => tf.sum(layer.apply({ params: { gamma, beta }, state }, x(), trainCtx()).y)
    const [gGamma, gBeta] = tf.grads(f)([tf.ones([2]), tf.zeros([2])])
    expectTensor(gBeta as tf.Tensor, [2], [2, 2])
    expectTensor(gGamma as tf.Tensor, [2], [0, 0])
  })

  it('ShapeErrors: wrong channel count; one value per channel in training', () => {
    const layer = batchNorm()
    const model = layer.init(key(0), [2])
    expect(() => layer.apply(model, tf.zeros([4, 3]), evalCtx)).toThrow(/batchNorm expects inputs of shape \[batch, 2\], got \[4, 3\]/)
    expect(() => layer.apply(model, tf.zeros([1, 2]), trainCtx())).toThrow(/more than one value per channel/)
    expect(() => layer.apply(model, tf.zeros([1, 2]), evalCtx)).not.toThrow()
  })
})
