import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { dropout, dropoutMask } from '../../src/nn/dropout.js'
import { empty } from '../../src/nn/layer.js'
import type { LayerContext } from '../../src/nn/layer.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, trainCtx, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const model = { params: empty, state: empty }
const ones = (n: number): tf.Tensor => tf.ones([n / 100, 100])
const apply = (rate: number, x: tf.Tensor, ctx: LayerContext): number[] => valuesOf(dropout(rate).apply(model, x, ctx).y)

describe('dropout', () => {
  it('is the identity in evaluation (a new tensor with equal values)', () => {
    const x = tf.tensor([[1, -2, 3, 4]])
    const y = dropout(0.5).apply(model, x, evalCtx).y
    expect(y).not.toBe(x)
    expect(valuesOf(y)).toEqual([1, -2, 3, 4])
  })

  it('is the identity in training with rate 0', () => {
    expect(apply(0, tf.tensor([[1, 2, 3]]), trainCtx(1))).toEqual([1, 2, 3])
  })

  it('keeps about 1 − rate of the units and scales them by 1/(1 − rate)', () => {
    const values = apply(0.3, ones(20000), trainCtx(7))
    const kept = values.filter((v) => v !== 0)
    expect(Math.abs(kept.length / 20000 - 0.7)).toBeLessThan(0.015)
    // every survivor is 1 / 0.7
    expect(new Set(kept.map((v) => v.toFixed(5)))).toEqual(new Set([(1 / 0.7).toFixed(5)]))
    // the expectation is preserved: mean ≈ 1
    expect(Math.abs(values.reduce((a, b) => a + b, 0) / 20000 - 1)).toBeLessThan(0.025)
  })

  it('scales the input values, not a constant', () => {
    const x = tf.tensor([[2, -4, 6, 8, 10, 12, 14, 16]])
    const y = apply(0.5, x, trainCtx(3))
    const xs = valuesOf(x)
    y.forEach((v, i) => expect([0, 2 * (xs[i] as number)]).toContain(v))
    expect(y.some((v) => v !== 0)).toBe(true)
  })

  it('same key → same mask; different key → different mask', () => {
    const a = apply(0.5, ones(1000), trainCtx(11))
    const b = apply(0.5, ones(1000), trainCtx(11))
    const c = apply(0.5, ones(1000), trainCtx(12))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })

  it('the mask is dropoutMask(ctx.key, n, rate)', () => {
    const mask = dropoutMask(key(5), 400, 0.25)
    expect(apply(0.25, ones(400), trainCtx(5))).toEqual(Array.from(mask))
    expect(Array.from(mask).every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true)
  })

  it('rejects rates outside [0, 1)', () => {
    expect(() => dropout(1)).toThrow(/ConfigError/)
    expect(() => dropout(-0.1)).toThrow(/ConfigError/)
  })
})
