import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { flatten } from '../../src/nn/flatten.js'
import { empty } from '../../src/nn/layer.js'
import { avgPool2d, globalAvgPool2d, maxPool2d } from '../../src/nn/pooling.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, iota } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const run = (layer: ReturnType<typeof maxPool2d>, x: tf.Tensor): tf.Tensor => layer.apply({ params: empty, state: empty }, x, evalCtx).y

describe('pooling', () => {
  // The 4×4 image 1..16: rows [1 2 3 4], [5 6 7 8], [9 10 11 12], [13 14 15 16].
  it('maxPool2d 2×2: the maximum of each window', () => {
    // windows {1,2,5,6} {3,4,7,8} {9,10,13,14} {11,12,15,16}
    expectTensor(run(maxPool2d({ poolSize: 2 }), iota([1, 4, 4, 1])), [1, 2, 2, 1], [6, 8, 14, 16])
  })

  it('avgPool2d 2×2: the mean of each window', () => {
    // (1+2+5+6)/4 = 3.5, (3+4+7+8)/4 = 5.5, 11.5, 13.5
    expectTensor(run(avgPool2d({ poolSize: 2 }), iota([1, 4, 4, 1])), [1, 2, 2, 1], [3.5, 5.5, 11.5, 13.5])
  })

  it('overlapping windows: maxPool 3×3 stride 1 on 4×4', () => {
    // windows start at (0,0) (0,1) (1,0) (1,1): maxima 11, 12, 15, 16
    expectTensor(run(maxPool2d({ poolSize: 3, strides: 1 }), iota([1, 4, 4, 1])), [1, 2, 2, 1], [11, 12, 15, 16])
  })

  it("avgPool2d 'same' averages only real pixels at the border", () => {
    // 3×3 image 1..9, pool 2 stride 2: {1,2,4,5} → 3, {3,6} → 4.5, {7,8} → 7.5, {9} → 9
    expectTensor(run(avgPool2d({ poolSize: 2, padding: 'same' }), iota([1, 3, 3, 1])), [1, 2, 2, 1], [3, 4.5, 7.5, 9])
  })

  it('pools each channel separately', () => {
    // channel 0 = 1, 3, 5, 7 (max 7); channel 1 = 2, 4, 6, 8 (max 8)
    expectTensor(run(maxPool2d({ poolSize: 2 }), iota([1, 2, 2, 2])), [1, 1, 1, 2], [7, 8])
  })

  it('globalAvgPool2d: [batch, h, w, c] → [batch, c] means', () => {
    // channel 0: (1+3+5+7)/4 = 4; channel 1: (2+4+6+8)/4 = 5; second image adds 8
    const layer = globalAvgPool2d()
    expect(layer.init(key(0), [2, 2, 2]).outputShape).toEqual([2])
    expectTensor(run(layer, iota([2, 2, 2, 2])), [2, 2], [4, 5, 12, 13])
  })

  it('infers output shapes that match apply', () => {
    const cases = [
      [maxPool2d({ poolSize: 2 }), [28, 28, 3], [14, 14, 3]],
      [maxPool2d({ poolSize: 2 }), [11, 11, 1], [5, 5, 1]],
      [avgPool2d({ poolSize: [2, 3], strides: 1 }), [5, 5, 2], [4, 3, 2]],
      [maxPool2d({ poolSize: 3, strides: 2, padding: 'same' }), [7, 7, 1], [4, 4, 1]],
    ] as const
    for (const [layer, inputShape, expected] of cases) {
      expect(layer.init(key(0), inputShape).outputShape).toEqual(expected)
      expect(run(layer, tf.zeros([1, ...inputShape])).shape).toEqual([1, ...expected])
    }
  })

  it('ShapeErrors: rank-3 input, window larger than the image', () => {
    expect(() => run(maxPool2d({ poolSize: 2 }), tf.zeros([4, 4, 1]))).toThrow(/maxPool2d expects inputs of shape \[batch, height, width, channels\], got \[4, 4, 1\]/)
    expect(() => maxPool2d({ poolSize: 3 }).init(key(0), [2, 2, 1])).toThrow(/ShapeError/)
    expect(() => globalAvgPool2d().init(key(0), [16])).toThrow(/ShapeError/)
  })
})

describe('flatten', () => {
  it('keeps the batch, flattens the rest row-major (channels fastest)', () => {
    const layer = flatten()
    expect(layer.init(key(0), [2, 2, 2]).outputShape).toEqual([8])
    const y = run(layer, iota([2, 2, 2, 2]))
    expectTensor(y, [2, 8], Array.from({ length: 16 }, (_, i) => i + 1))
  })

  it('a [batch] tensor becomes [batch, 1]; a scalar is a ShapeError', () => {
    expectTensor(run(flatten(), tf.tensor([3, 4])), [2, 1], [3, 4])
    expect(() => run(flatten(), tf.scalar(1))).toThrow(/ShapeError/)
  })
})
