import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  activationFn,
  activations,
  elu,
  gelu,
  leakyRelu,
  logSoftmax,
  relu,
  sigmoid,
  silu,
  softmax,
  tanh,
} from '../../src/nn/activations.js'
import type { Layer } from '../../src/nn/layer.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const x = (): tf.Tensor => tf.tensor([[-1, 0, 1, 2]])

describe('activation functions', () => {
  it('relu, leakyRelu (PyTorch slope 0.01), elu', () => {
    expectTensor(activations.relu(x()), [1, 4], [0, 0, 1, 2])
    expectTensor(activations.leakyRelu(x()), [1, 4], [-0.01, 0, 1, 2])
    // elu(−1) = e^−1 − 1 = 0.3678794 − 1
    expectTensor(activations.elu(x()), [1, 4], [Math.exp(-1) - 1, 0, 1, 2])
  })

  it('gelu is the exact erf form x·Φ(x)', () => {
    // Φ(1) = 0.8413447, Φ(−1) = 0.1586553, Φ(2) = 0.9772499
    expectTensor(activations.gelu(x()), [1, 4], [-0.1586553, 0, 0.8413447, 2 * 0.9772499])
  })

  it('geluTanh is the tanh approximation, distinct from the exact form', () => {
    // 0.5·1·(1 + tanh(√(2/π)·(1 + 0.044715))) = 0.5·(1 + tanh(0.8335620)) = 0.5·(1 + 0.6823840)
    const inner = Math.sqrt(2 / Math.PI) * 1.044715
    const at1 = 0.5 * (1 + Math.tanh(inner))
    expect(at1).toBeCloseTo(0.841192, 5)
    expectTensor(tf.slice(activations.geluTanh(x()), [0, 2], [1, 1]), [1, 1], [at1])
  })

  it('silu, sigmoid and tanh', () => {
    // sigmoid(1) = 1 / (1 + e^−1) = 0.7310586
    const s1 = 1 / (1 + Math.exp(-1))
    expectTensor(activations.sigmoid(x()), [1, 4], [1 - s1, 0.5, s1, 1 / (1 + Math.exp(-2))])
    expectTensor(activations.silu(x()), [1, 4], [-(1 - s1), 0, s1, 2 / (1 + Math.exp(-2))])
    expectTensor(activations.tanh(x()), [1, 4], [-Math.tanh(1), 0, Math.tanh(1), Math.tanh(2)])
  })

  it('softmax and logSoftmax act on the last axis', () => {
    // exp(0) : exp(ln 2) : exp(ln 3) = 1 : 2 : 3, over a total of 6
    const logits = tf.tensor([
      [0, Math.log(2), Math.log(3)],
      [5, 5, 5],
    ])
    expectTensor(activations.softmax(logits), [2, 3], [1 / 6, 2 / 6, 3 / 6, 1 / 3, 1 / 3, 1 / 3])
    expectTensor(activations.logSoftmax(logits), [2, 3], [Math.log(1 / 6), Math.log(2 / 6), Math.log(3 / 6), -Math.log(3), -Math.log(3), -Math.log(3)])
  })

  it('linear is a copy, not the input itself', () => {
    const input = x()
    const y = activations.linear(input)
    expect(y).not.toBe(input)
    y.dispose()
    expect(input.isDisposed).toBe(false)
    expectTensor(input, [1, 4], [-1, 0, 1, 2])
  })

  it('activationFn resolves names and passes functions through', () => {
    const custom = (t: tf.Tensor): tf.Tensor => tf.mul(t, 3)
    expect(activationFn(custom)).toBe(custom)
    expect(activationFn('relu')).toBe(activations.relu)
  })
})

describe('activation layers', () => {
  const layers: readonly (readonly [Layer, string, readonly number[]])[] = [
    [relu(), 'relu', [0, 0, 1, 2]],
    [leakyRelu(0.2), 'leakyRelu', [-0.2, 0, 1, 2]],
    [elu(), 'elu', [Math.exp(-1) - 1, 0, 1, 2]],
    [gelu(), 'gelu', [-0.1586553, 0, 0.8413447, 1.9544998]],
    [silu(), 'silu', [-1 / (1 + Math.E), 0, 1 / (1 + Math.exp(-1)), 2 / (1 + Math.exp(-2))]],
    [sigmoid(), 'sigmoid', [1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(-2))]],
    [tanh(), 'tanh', [-Math.tanh(1), 0, Math.tanh(1), Math.tanh(2)]],
  ]

  it.each(layers)('%# layer has its kind, empty variables, keeps the shape and computes', (layer, kind, expected) => {
    expect(layer.kind).toBe(kind)
    const init = layer.init(key(0), [4])
    expect(init.params).toEqual({})
    expect(init.state).toEqual({})
    expect(init.outputShape).toEqual([4])
    const out = layer.apply(init, x(), evalCtx)
    expectTensor(out.y, [1, 4], expected)
    expect(out.state).toBe(init.state)
  })

  it('gelu({ approximate: "tanh" }) selects the tanh form', () => {
    expect(gelu({ approximate: 'tanh' }).kind).toBe('geluTanh')
    const l = gelu({ approximate: 'tanh' })
    const y = l.apply(l.init(key(0), [4]), x(), evalCtx).y
    const exact = activations.gelu(x())
    // the two forms differ by ~1e-4 at x = 1 and 2: close, but not equal
    expect(Math.abs((y.dataSync()[3] as number) - (exact.dataSync()[3] as number))).toBeGreaterThan(1e-5)
    expect(Math.abs((y.dataSync()[3] as number) - (exact.dataSync()[3] as number))).toBeLessThan(1e-3)
  })

  it('softmax and logSoftmax layers', () => {
    const logits = tf.tensor([[0, Math.log(2), Math.log(3)]])
    const s = softmax()
    const ls = logSoftmax()
    expectTensor(s.apply(s.init(key(0), [3]), logits, evalCtx).y, [1, 3], [1 / 6, 2 / 6, 3 / 6])
    expectTensor(ls.apply(ls.init(key(0), [3]), logits, evalCtx).y, [1, 3], [Math.log(1 / 6), Math.log(2 / 6), Math.log(3 / 6)])
  })

  it('activation gradients flow (gelu′(0) = 0.5, silu′(0) = 0.5)', () => {
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(activations.gelu(t)))(tf.tensor([0]))
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(activations.silu(t)))(tf.tensor([0]))
    expectTensor(g1, [1], [0.5])
    expectTensor(g2, [1], [0.5])
  })
})
