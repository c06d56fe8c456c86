import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { useBackend } from '../support/backend.js'

let cpu: Backend
let wasm: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  wasm = await useBackend('wasm')
})

/** Runs `f` on a backend and returns its outputs as plain arrays. */
const on = (backend: Backend, f: () => tf.Tensor[]): number[][] => {
  backend.activate()
  return tf.tidy(f).map((t) => {
    const values = Array.from(t.dataSync())
    t.dispose()
    return values
  })
}

const maxDiff = (a: number[], b: number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0)

/**
 * Runs `run` on cpu, then on wasm, and expects equal lengths, values within `tolerance`, and no
 * tensor left behind on wasm. Returns cpu's outputs.
 */
const expectWasmMatchesCpu = (run: () => tf.Tensor[], tolerance: number): number[][] => {
  const expected = on(cpu, run)
  wasm.activate()
  const before = tf.memory().numTensors
  const actual = on(wasm, run)
  expect(tf.memory().numTensors).toBe(before)
  expected.forEach((e, i) => {
    expect(actual[i]?.length).toBe(e.length)
    expect(maxDiff(actual[i] as number[], e)).toBeLessThan(tolerance)
  })
  return expected
}

describe('the wasm backend', () => {
  it('initialises and describes itself', () => {
    expect(wasm.name).toBe('wasm')
    expect(wasm.description).toMatch(/^wasm \(XNNPACK/)
  })

  it('gives a float one-hot its values (tfjs-backend-wasm writes int32 bits)', () => {
    const f = () => [tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 3, 1, 0, 'float32')]
    expect(on(wasm, f)).toEqual([[1, 0, 0, 0, 0, 1, 0, 1, 0]])
  })

  it('clones by sharing memory (the tape clones every saved tensor), and each copy outlives the other', () => {
    wasm.activate()
    const before = tf.memory()
    const x = tf.tensor1d([1, 2, 3])
    const buffers = tf.backend().numDataIds()
    const y = tf.clone(x)
    expect(y.dataId).toBe(x.dataId)
    expect(tf.backend().numDataIds()).toBe(buffers) // no second buffer
    x.dispose()
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3])
    // a variable's assign swaps its data: a clone taken before keeps the old values
    const v = tf.variable(y)
    const kept = tf.clone(v)
    const next = tf.tensor1d([7, 8, 9])
    v.assign(next)
    expect(Array.from(kept.dataSync())).toEqual([1, 2, 3])
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9])
    tf.dispose([y, v, kept, next])
    expect(tf.memory().numTensors).toBe(before.numTensors)
    expect(tf.backend().numDataIds()).toBe(buffers - 1)
  })

  it('gradients through saved (cloned) tensors match cpu', () => {
    const run = () => {
      const x = tf.tensor2d([0.5, -1, 2, 0.25, 3, -0.5], [2, 3])
      const w = tf.tensor2d([0.1, 0.2, -0.3, 0.4, 0.5, -0.6], [3, 2])
      const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.exp(tf.tanh(tf.matMul(a, b)))) as tf.Scalar)([x, w])
      return [value, ...grads]
    }
    expectWasmMatchesCpu(run, 1e-5)
  })

  const configs: { name: string; x: [number, number, number, number]; k: [number, number, number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number }[] = [
    { name: 'stride 1, valid', x: [2, 7, 6, 3], k: [3, 3, 3, 4], strides: 1, pad: 'valid' },
    { name: 'stride 2, same', x: [2, 8, 7, 2], k: [3, 3, 2, 5], strides: 2, pad: 'same' },
    { name: 'stride 2, valid, odd size', x: [1, 9, 9, 1], k: [2, 2, 1, 3], strides: 2, pad: 'valid' },
    { name: 'strides [1, 2], same', x: [3, 6, 8, 2], k: [5, 3, 2, 2], strides: [1, 2], pad: 'same' },
    { name: 'explicit padding 1, stride 3', x: [2, 10, 10, 2], k: [3, 3, 2, 3], strides: 3, pad: 1 },
  ]
  for (const c of configs)
    it(`trains convolutions: its filter gradient matches cpu (${c.name})`, () => {
      const xs = Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37))
      const ws = Array.from({ length: c.k.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11))
      const grads = () => {
        const x = tf.tensor4d(xs, c.x)
        const w = tf.tensor4d(ws, c.k)
        const loss = (xx: tf.Tensor, ww: tf.Tensor) => {
          const y = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad)
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape)))) as tf.Scalar
        }
        const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => loss(xx, ww))([x, w])
        return [tf.conv2d(x, w, c.strides, c.pad), dw as tf.Tensor, dx as tf.Tensor]
      }
      expectWasmMatchesCpu(grads, 1e-4)
    })
})

describe('the wasm filter gradient called as a kernel', () => {
  // tfjs' conv2d gradient drops dimRoundingMode, so 'ceil' reaches the kernel only when called directly.
  it("matches cpu with dimRoundingMode 'ceil' (windows past the stated padding)", () => {
    const x = Array.from({ length: 2 * 6 * 6 * 2 }, (_, i) => Math.sin(i * 0.3))
    const dy = Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => Math.cos(i * 0.7))
    const run = () => [
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, [2, 6, 6, 2]), dy: tf.tensor4d(dy, [2, 4, 4, 3]) },
        { strides: 2, pad: 1, dataFormat: 'NHWC', dimRoundingMode: 'ceil', filterShape: [3, 3, 2, 3] },
      ) as tf.Tensor,
    ]
    const expected = on(cpu, run)
    const actual = on(wasm, run)
    expect(maxDiff(actual[0] as number[], expected[0] as number[])).toBeLessThan(1e-4)
  })
})

describe('wasm matrix products with transposed operands (computed by transposing first)', () => {
  const cases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { name: 'plain', a: [5, 7], b: [7, 3], ta: false, tb: false },
    { name: 'transposeA (a dense weight gradient)', a: [7, 5], b: [7, 3], ta: true, tb: false },
    { name: 'transposeB (a dense input gradient)', a: [5, 7], b: [3, 7], ta: false, tb: true },
    { name: 'both', a: [7, 5], b: [3, 7], ta: true, tb: true },
    { name: 'batched, transposeA', a: [2, 7, 5], b: [2, 7, 3], ta: true, tb: false },
  ]
  for (const c of cases)
    it(`match cpu in values and gradients: ${c.name}`, () => {
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1)
      const av = Array.from({ length: size(c.a) }, (_, i) => Math.sin(i * 0.7))
      const bv = Array.from({ length: size(c.b) }, (_, i) => Math.cos(i * 0.3))
      const run = () => {
        const a = tf.tensor(av, c.a)
        const b = tf.tensor(bv, c.b)
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, c.ta, c.tb))) as tf.Scalar
        const [ga, gb] = tf.grads(f)([a, b])
        return [tf.matMul(a, b, c.ta, c.tb), ga as tf.Tensor, gb as tf.Tensor]
      }
      expectWasmMatchesCpu(run, 1e-4)
    })
})

describe('training kernels wasm lacks, run by the cpu implementation', () => {
  it('depthwise convolution: values and both gradients match cpu', () => {
    const xv = Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.37))
    const wv = Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.cos(i * 0.21))
    const run = () => {
      const x = tf.tensor4d(xv, [2, 6, 6, 3])
      const w = tf.tensor4d(wv, [3, 3, 3, 2])
      const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same'))) as tf.Scalar
      const [dx, dw] = tf.grads(f)([x, w])
      return [tf.depthwiseConv2d(x, w, 2, 'same'), dx as tf.Tensor, dw as tf.Tensor]
    }
    expectWasmMatchesCpu(run, 1e-4)
  })

  it('an embedding lookup (gather): its gradient (UnsortedSegmentSum) matches cpu, repeated ids included', () => {
    const table = Array.from({ length: 6 * 4 }, (_, i) => Math.sin(i))
    const run = () => {
      const t = tf.tensor2d(table, [6, 4])
      const ids = tf.tensor2d([0, 2, 2, 5, 1, 2], [2, 3], 'int32')
      const g = tf.grad((tt: tf.Tensor) => tf.sum(tf.mul(tf.gather(tt, ids), tf.reshape(tf.range(0, 24), [2, 3, 4]))) as tf.Scalar)(t)
      return [tf.gather(t, ids), g]
    }
    expectWasmMatchesCpu(run, 1e-4)
  })
})

describe('the max-pooling gradient on wasm (its own kernel drops windows whose maximum is not positive)', () => {
  const cases: { name: string; x: [number, number, number, number]; size: number; strides: number; pad: 'valid' | 'same'; shift: number }[] = [
    { name: 'tiling 2x2, all windows negative', x: [2, 6, 6, 3], size: 2, strides: 2, pad: 'valid', shift: -3 },
    { name: 'tiling 2x2 after a ReLU (all-zero windows)', x: [2, 8, 6, 4], size: 2, strides: 2, pad: 'valid', shift: -0.5 },
    { name: 'odd size, the last row and column left out', x: [1, 9, 7, 2], size: 2, strides: 2, pad: 'valid', shift: 0 },
    { name: 'overlapping 3x3, stride 1, same padding', x: [2, 5, 6, 3], size: 3, strides: 1, pad: 'same', shift: -0.3 },
  ]
  for (const c of cases)
    it(`matches cpu: ${c.name}`, () => {
      const xs = Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 1.7) + c.shift)
      const run = () => {
        const x = tf.tensor4d(xs, c.x)
        const input = c.name.includes('ReLU') ? tf.relu(x) : x
        const f = (v: tf.Tensor) => {
          const y = tf.maxPool(v as tf.Tensor4D, c.size, c.strides, c.pad)
          return tf.sum(tf.mul(y, tf.cos(tf.reshape(tf.range(0, y.size), y.shape)))) as tf.Scalar
        }
        return [tf.grad(f)(input)]
      }
      const expected = expectWasmMatchesCpu(run, 1e-6)
      expect((expected[0] as number[]).filter((v) => v !== 0).length).toBeGreaterThan(0)
    })
})
