import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { dense } from '../../src/nn/dense.js'
import type { DenseParams } from '../../src/nn/dense.js'
import { constant, glorotUniform } from '../../src/nn/init.js'
import { empty } from '../../src/nn/layer.js'
import { key, split } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const params = (): DenseParams => ({
  kernel: tf.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]),
  bias: tf.tensor([0.5, -1, 0]),
})

describe('dense', () => {
  it('init: kernel [in, units] from glorotUniform(split(key)[0]), zero bias, output shape', () => {
    const k = key(3)
    const { params: p, state, outputShape } = dense({ units: 4 }).init(k, [5])
    expect(p.kernel.shape).toEqual([5, 4])
    expect(p.bias?.shape).toEqual([4])
    expect(valuesOf(p.bias as tf.Tensor)).toEqual([0, 0, 0, 0])
    expect(valuesOf(p.kernel)).toEqual(valuesOf(glorotUniform(split(k)[0]!, [5, 4])))
    expect(state).toEqual({})
    expect(outputShape).toEqual([4])
  })

  it('init: useBias false has no bias; custom initialisers; leading dims kept in the output shape', () => {
    const noBias = dense({ units: 2, useBias: false }).init(key(0), [3])
    expect(Object.keys(noBias.params)).toEqual(['kernel'])
    const custom = dense({ units: 2, kernelInit: constant(2), biasInit: constant(-1) }).init(key(0), [7, 3])
    expect(valuesOf(custom.params.kernel)).toEqual([2, 2, 2, 2, 2, 2])
    expect(valuesOf(custom.params.bias as tf.Tensor)).toEqual([-1, -1])
    expect(custom.outputShape).toEqual([7, 2])
  })

  it('forward: x·kernel + bias', () => {
    // row 1: [1·1 + 2·4 + 0.5, 1·2 + 2·5 − 1, 1·3 + 2·6 + 0] = [9.5, 11, 15]
    // row 2: [−1·1 + 0.5, −1·2 − 1, −1·3] = [−0.5, −3, −3]
    const x = tf.tensor([
      [1, 2],
      [-1, 0],
    ])
    const { y } = dense({ units: 3 }).apply({ params: params(), state: empty }, x, evalCtx)
    expectTensor(y, [2, 3], [9.5, 11, 15, -0.5, -3, -3])
  })

  it('forward without bias and with an activation (by name or function)', () => {
    const x = tf.tensor([
      [1, 2],
      [-1, 0],
    ])
    const { kernel } = params()
    const noBias = dense({ units: 3, useBias: false }).apply({ params: { kernel }, state: empty }, x, evalCtx).y
    expectTensor(noBias, [2, 3], [9, 12, 15, -1, -2, -3])
    const relu = dense({ units: 3, activation: 'relu' }).apply({ params: params(), state: empty }, x, evalCtx).y
    expectTensor(relu, [2, 3], [9.5, 11, 15, 0, 0, 0])
    const doubled = dense({ units: 3, activation: (t) => tf.mul(t, 2) }).apply({ params: params(), state: empty }, x, evalCtx).y
    expectTensor(doubled, [2, 3], [19, 22, 30, -1, -6, -6])
  })

  it('rank-3 input [batch, t, in] → [batch, t, units]', () => {
    const x = tf.tensor([[[1, 2], [-1, 0]]])
    const { y } = dense({ units: 3 }).apply({ params: params(), state: empty }, x, evalCtx)
    expectTensor(y, [1, 2, 3], [9.5, 11, 15, -0.5, -3, -3])
  })

  it('gradient of sum(y) w.r.t. the kernel is the column sums of x', () => {
    const x = tf.tensor([
      [1, 2],
      [3, 5],
    ])
    const layer = dense({ units: 3 })
    const p = params()
    const g = tf.grad((k: tf.Tensor) => tf.sum(layer.apply({ params: { kernel: k, bias: p.bias }, state: empty }, x, evalCtx).y))(p.kernel)
    // d/dK_ij Σ (xK)_bj = Σ_b x_bi: [1 + 3, 2 + 5] repeated over 3 columns
    expectTensor(g, [2, 3], [4, 4, 4, 7, 7, 7])
  })

  it('wrong last dimension: ShapeError naming both shapes', () => {
    const layer = dense({ units: 10 })
    const model = layer.init(key(0), [784])
    const x = tf.zeros([128, 100])
    let caught: unknown
    try {
      layer.apply(model, x, evalCtx)
    } catch (e) {
      caught = e
    }
    expect(isRxtrainError(caught) && caught.tag).toBe('ShapeError')
    const message = (caught as Error).message
    expect(message).toContain('dense')
    expect(message).toContain('[batch, 784]')
    expect(message).toContain('[128, 100]')
    expect(message).toContain('How to fix')
  })

  it('rank-1 input is a ShapeError; non-positive units a ConfigError', () => {
    const layer = dense({ units: 2 })
    const model = layer.init(key(0), [3])
    expect(() => layer.apply(model, tf.zeros([3]), evalCtx)).toThrow(/dense expects inputs of shape \[batch, 3\], got \[3\]/)
    expect(() => dense({ units: 0 })).toThrow(/ConfigError/)
  })
})
