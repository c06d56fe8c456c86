import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  TRUNCATED_NORMAL_STD,
  constant,
  fansOf,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  normalInit,
  ones,
  uniformInit,
  zeros,
} from '../../src/nn/init.js'
import type { Initializer } from '../../src/nn/init.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { maxAbs, statsOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const draw = (init: Initializer, shape: readonly number[], seed = 0): Float32Array => {
  const t = init(key(seed), shape)
  const values = t.dataSync() as Float32Array
  expect(t.shape).toEqual(shape)
  expect(t.dtype).toBe('float32')
  t.dispose()
  return values
}

describe('fansOf (Keras _compute_fans)', () => {
  it('dense kernel [in, out]', () => expect(fansOf([784, 10])).toEqual({ fanIn: 784, fanOut: 10 }))
  it('conv kernel [kh, kw, in, out]: receptive field times channels', () =>
    // fanIn = 3·3·16 = 144, fanOut = 3·3·32 = 288
    expect(fansOf([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 }))
  it('vectors and scalars', () => {
    expect(fansOf([7])).toEqual({ fanIn: 7, fanOut: 7 })
    expect(fansOf([])).toEqual({ fanIn: 1, fanOut: 1 })
  })
})

describe('constant initialisers', () => {
  it('zeros, ones and constant are exact', () => {
    expect(Array.from(draw(zeros, [2, 3]))).toEqual([0, 0, 0, 0, 0, 0])
    expect(Array.from(draw(ones, [4]))).toEqual([1, 1, 1, 1])
    expect(Array.from(draw(constant(0.25), [2, 2]))).toEqual([0.25, 0.25, 0.25, 0.25])
  })
})

describe('random initialisers', () => {
  const all: readonly (readonly [string, Initializer])[] = [
    ['normalInit', normalInit(1)],
    ['uniformInit', uniformInit(0.5)],
    ['glorotUniform', glorotUniform],
    ['glorotNormal', glorotNormal],
    ['heNormal', heNormal],
    ['heUniform', heUniform],
    ['lecunNormal', lecunNormal],
  ]

  it.each(all)('%s: same key gives identical values, a different key different ones', (_name, init) => {
    const a = draw(init, [16, 8], 3)
    const b = draw(init, [16, 8], 3)
    const c = draw(init, [16, 8], 4)
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(c))
    expect(new Set(a).size).toBeGreaterThan(100)
  })

  it('normalInit(std, mean) has that mean and std', () => {
    const s = statsOf(draw(normalInit(2, 5), [200, 500]))
    expect(s.mean).toBeCloseTo(5, 1)
    expect(Math.abs(s.std / 2 - 1)).toBeLessThan(0.02)
  })

  it('uniformInit(limit) stays within ±limit with std limit/√3', () => {
    const v = draw(uniformInit(0.5), [200, 500])
    expect(maxAbs(v)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(statsOf(v).std / (0.5 / Math.sqrt(3)) - 1)).toBeLessThan(0.02)
  })

  // fans 400/600: glorot limit = sqrt(6 / 1000), std = sqrt(2 / 1000) ≈ 0.04472
  it('glorotUniform: |v| ≤ sqrt(6/(fanIn+fanOut)), std sqrt(2/(fanIn+fanOut))', () => {
    const v = draw(glorotUniform, [400, 600])
    const limit = Math.sqrt(6 / 1000)
    expect(maxAbs(v)).toBeLessThanOrEqual(limit)
    expect(maxAbs(v)).toBeGreaterThan(0.99 * limit)
    expect(Math.abs(statsOf(v).std / Math.sqrt(2 / 1000) - 1)).toBeLessThan(0.02)
  })

  it('glorotNormal: truncated at 2σ, std sqrt(2/(fanIn+fanOut)) after truncation', () => {
    const v = draw(glorotNormal, [400, 600])
    const std = Math.sqrt(2 / 1000)
    const s = statsOf(v)
    expect(Math.abs(s.mean)).toBeLessThan(0.001)
    expect(Math.abs(s.std / std - 1)).toBeLessThan(0.02)
    expect(maxAbs(v)).toBeLessThanOrEqual((2 * std) / TRUNCATED_NORMAL_STD + 1e-6)
  })

  // conv kernel [3, 3, 64, 128]: fanIn = 576
  it('heNormal: std sqrt(2/fanIn) with conv fans', () => {
    const v = draw(heNormal, [3, 3, 64, 128])
    const std = Math.sqrt(2 / 576)
    expect(Math.abs(statsOf(v).std / std - 1)).toBeLessThan(0.02)
    expect(maxAbs(v)).toBeLessThanOrEqual((2 * std) / TRUNCATED_NORMAL_STD + 1e-6)
  })

  it('heUniform: limit sqrt(6/fanIn)', () => {
    const v = draw(heUniform, [3, 3, 64, 128])
    const limit = Math.sqrt(6 / 576)
    expect(maxAbs(v)).toBeLessThanOrEqual(limit)
    expect(Math.abs(statsOf(v).std / (limit / Math.sqrt(3)) - 1)).toBeLessThan(0.02)
  })

  it('lecunNormal: std sqrt(1/fanIn)', () => {
    const v = draw(lecunNormal, [500, 400])
    expect(Math.abs(statsOf(v).std / Math.sqrt(1 / 500) - 1)).toBeLessThan(0.02)
  })

  it('leaves no tensors behind when the caller disposes the result', () => {
    const before = tf.memory().numTensors
    const t = glorotUniform(key(0), [4, 4])
    expect(tf.memory().numTensors).toBe(before + 1)
    t.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
