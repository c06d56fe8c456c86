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

describe('the wasm backend', () => {
  it('initialises and describes itself', () => {
    expect(wasm.name).toBe('wasm')
    expect(wasm.description).toMatch(/^wasm \(XNNPACK/)
  })

  it('gives a float one-hot its values (tfjs-backend-wasm writes int32 bits)', () => {
    const f = () => [tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 3, 1, 0, 'float32')]
    expect(on(wasm, f)).toEqual([[1, 0, 0, 0, 0, 1, 0, 1, 0]])
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
      const expected = on(cpu, grads)
      wasm.activate()
      const before = tf.memory().numTensors
      const actual = on(wasm, grads)
      expect(tf.memory().numTensors).toBe(before)
      expected.forEach((e, i) => {
        expect(actual[i]?.length).toBe(e.length)
        expect(maxDiff(actual[i] as number[], e)).toBeLessThan(1e-4)
      })
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
