import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { empty } from '../../src/nn/layer.js'
import { layerNorm } from '../../src/nn/layerNorm.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, trainCtx, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

describe('layerNorm', () => {
  it('init: gamma ones, beta zeros over the last axis; no state', () => {
    const { params, state, outputShape } = layerNorm().init(key(0), [4, 3])
    expect(valuesOf(params.gamma)).toEqual([1, 1, 1])
    expect(valuesOf(params.beta)).toEqual([0, 0, 0])
    expect(state).toEqual({})
    expect(outputShape).toEqual([4, 3])
  })

  it('normalises each row with its own mean and biased variance', () => {
    // row [1, 2, 3]: mean 2, var (1 + 0 + 1)/3 = 2/3; row [10, 10, 40]: mean 20, var (100 + 100 + 400)/3 = 200
    const x = tf.tensor([
      [1, 2, 3],
      [10, 10, 40],
    ])
    const a = 1 / Math.sqrt(2 / 3 + 1e-5)
    const b = 10 / Math.sqrt(200 + 1e-5)
    const layer = layerNorm()
    const { y } = layer.apply(layer.init(key(0), [3]), x, evalCtx)
    expectTensor(y, [2, 3], [-a, 0, a, -b, -b, 2 * b])
  })

  it('applies gamma and beta per feature, identically in training and evaluation', () => {
    const params = { gamma: tf.tensor([1, 2, 3]), beta: tf.tensor([0, 0, 1]) }
    const x = tf.tensor([[[1, 2, 3]]])
    const a = 1 / Math.sqrt(2 / 3 + 1e-5)
    const layer = layerNorm()
    expectTensor(layer.apply({ params, state: empty }, x, evalCtx).y, [1, 1, 3], [-a, 0, 3 * a + 1])
    expectTensor(layer.apply({ params, state: empty }, x, trainCtx()).y, [1, 1, 3], [-a, 0, 3 * a + 1])
  })

  it('wrong feature count is a ShapeError', () => {
    const layer = layerNorm()
    expect(() => layer.apply(layer.init(key(0), [3]), tf.zeros([2, 4]), evalCtx)).toThrow(/layerNorm expects inputs of shape \[batch, 3\], got \[2, 4\]/)
  })
})
