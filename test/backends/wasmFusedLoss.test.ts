import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { SOFTMAX_CROSS_ENTROPY } from '../../src/backends/fusedKernelNames.js'
import { registerWasmLoss, softmaxCrossEntropyOnHost, wasmLossIn } from '../../src/backends/wasmLoss.js'
import { wasmLossBinary } from '../../src/backends/wasmLossBinary.js'
import { softmaxCrossEntropy } from '../../src/nn/losses.js'
import { wasmModuleSource } from '../../scripts/wasmModuleSource.js'
import { useBackend } from '../support/backend.js'

let wasm: Backend
beforeAll(async () => {
  wasm = await useBackend('wasm')
})
afterAll(() => wasm.activate())

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer))

/** The contract's op path: mean(-sum(onehot * logSoftmax(logits))), differentiated by tfjs. */
const opPath = (logits: tf.Tensor, labels: tf.Tensor): { loss: number; dx: Float32Array } =>
  tf.tidy(() => {
    const [n, c] = logits.shape as [number, number]
    const f = (l: tf.Tensor) => tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(labels, c, 1, 0, 'float32'), tf.logSoftmax(l)), -1))) as tf.Scalar
    const { value, grad } = tf.valueAndGrad(f)(logits)
    expect(grad.shape).toEqual([n, c])
    return { loss: value.dataSync()[0] as number, dx: grad.dataSync() as Float32Array }
  })

const fused = (logits: tf.Tensor, labels: tf.Tensor): { loss: number; dx: Float32Array } =>
  tf.tidy(() => {
    const [loss, dx] = tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits, labels }, {}) as tf.Tensor[]
    expect(loss?.shape).toEqual([])
    expect(dx?.shape).toEqual(logits.shape)
    return { loss: (loss as tf.Tensor).dataSync()[0] as number, dx: (dx as tf.Tensor).dataSync() as Float32Array }
  })

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0)

/** Logits [n, c] (spread `scale`, shifted by `shift`) and class ids. */
const problem = (n: number, c: number, seed: number, scale = 3, shift = 0): [tf.Tensor2D, tf.Tensor1D] => [
  tf.tidy(() => tf.add(tf.mul(tf.randomNormal([n, c], 0, 1, 'float32', seed), scale), shift) as tf.Tensor2D),
  tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 7 + seed) % c), 'int32'),
]

describe('exp and log of the wasm loss kernel', () => {
  it('are accurate to a few f64 ulps, so exp rounded to float32 is the correctly rounded value', () => {
    const k = wasmLossIn(tf.backend())
    if (k === undefined) throw new Error('the wasm backend memory is reachable in Node')
    let worstExp = 0
    let worstLog = 0
    let roundedDiffer = 0
    for (let i = 0; i < 20000; i++) {
      const x = -((i * 0.618034) % 1) * 120 + (i % 5 === 0 ? 1 : 0)
      const [got, want] = [k.exp(x), Math.exp(x)]
      worstExp = Math.max(worstExp, Math.abs(got - want) / want)
      if (Math.fround(got) !== Math.fround(want)) roundedDiffer++
      const s = 1 + ((i * 0.414214) % 1) * 999
      worstLog = Math.max(worstLog, Math.abs(k.log(s) - Math.log(s)) / Math.max(1, Math.log(s)))
    }
    expect(worstExp).toBeLessThan(1e-15)
    expect(worstLog).toBeLessThan(1e-15)
    expect(roundedDiffer).toBe(0)
    expect([k.exp(0), k.log(1), Math.fround(k.exp(Number.NEGATIVE_INFINITY)), Math.fround(k.exp(-200))]).toEqual([1, 0, 0, 0])
    expect(k.exp(Number.NaN)).toBeNaN()
    expect(k.log(2)).toBe(Math.LN2)
  })
})

describe('the fused softmax cross-entropy kernel on wasm', () => {
  it('is registered when the wasm backend starts (and registering again changes nothing)', () => {
    expect(tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'wasm')).toBeDefined()
    expect(registerWasmLoss()).toBe(true)
  })

  it("equals the op path within the contract's tolerances (1e-6 relative loss, 1e-6 absolute gradient), also for large and shifted logits", () => {
    for (const [n, c, scale, shift] of [
      [128, 10, 3, 0],
      [7, 3, 1, 0],
      [1, 2, 1, 0],
      [5, 1000, 2, 0],
      [64, 10, 30, 0],
      [16, 10, 1, 1e4],
      [16, 10, 1, -1e4],
    ] as const) {
      const [logits, labels] = problem(n, c, n + c, scale, shift)
      const [want, got] = [opPath(logits, labels), fused(logits, labels)]
      expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(want.loss), 1e-30))
      expect(maxAbsDiff(got.dx, want.dx)).toBeLessThanOrEqual(1e-6)
      tf.dispose([logits, labels])
    }
  })

  it('gives bitwise the f64 formulas rounded once (the host version with Math.exp and Math.log), for even and odd class counts', () => {
    for (const [n, c] of [
      [128, 10],
      [33, 7],
    ] as const) {
      const [logits, labels] = problem(n, c, 1, 8)
      const got = fused(logits, labels)
      const want = softmaxCrossEntropyOnHost(logits.dataSync() as Float32Array, labels.dataSync() as Int32Array, n, c)
      expect(got.loss).toBe(Math.fround(want.loss))
      expect(Array.from(got.dx)).toEqual(Array.from(want.dx))
      tf.dispose([logits, labels])
    }
  })

  it('gives no target to an id out of range (as tf.oneHot), and NaN for NaN logits, without reading out of bounds', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [1, 2, 3],
      [Number.NaN, 0, 0],
    ])
    const labels = tf.tensor1d([0, 3, 1], 'int32')
    const got = fused(tf.slice(logits, [0, 0], [2, 3]), tf.slice(labels, 0, 2))
    const lse = Math.log(Math.exp(-2) + Math.exp(-1) + 1)
    expect(got.loss).toBeCloseTo((lse + 2 + lse) / 2, 6)
    expect(got.dx[3] as number).toBeCloseTo(Math.exp(-2 - lse) / 2, 7) // row 1: softmax only
    expect(fused(logits, labels).loss).toBeNaN()
    tf.dispose([logits, labels])
  })

  it('makes its two outputs and nothing else (no tensor or backend memory left behind)', () => {
    const [logits, labels] = problem(32, 10, 2)
    const [tensors, data] = [tf.memory().numTensors, tf.engine().backend.numDataIds()]
    fused(logits, labels)
    expect([tf.memory().numTensors, tf.engine().backend.numDataIds()]).toEqual([tensors, data])
    tf.dispose([logits, labels])
  })

  it('refuses inputs outside its contract', () => {
    tf.tidy(() => {
      expect(() => tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits: tf.zeros([2, 3]), labels: tf.zeros([2]) }, {})).toThrow(/labels int32/)
      expect(() => tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits: tf.zeros([6]), labels: tf.zeros([2], 'int32') }, {})).toThrow(/logits float32 \[n, c\]/)
    })
  })

  it('runs the same formulas on the host for a backend object whose memory it cannot import (a threaded build)', () => {
    const [logits, labels] = problem(9, 5, 3)
    const real = tf.backend() as unknown as { wasm: object }
    const unreachable = new Proxy(real.wasm, { get: (target, p) => (p === 'asm' ? {} : Reflect.get(target, p)) })
    const kernel = tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'wasm')?.kernelFunc as tf.KernelFunc
    const backend = Object.create(real, { wasm: { value: unreachable } }) as tf.KernelBackend
    const [loss, dx] = kernel({ inputs: { logits, labels }, backend, attrs: {} }) as tf.TensorInfo[]
    const [onHost, inWasm] = [tf.engine().makeTensorFromTensorInfo(loss as tf.TensorInfo), tf.engine().makeTensorFromTensorInfo(dx as tf.TensorInfo)]
    const want = fused(logits, labels)
    expect(onHost.dataSync()[0]).toBe(want.loss)
    expect(bits(inWasm)).toEqual(Array.from(new Uint32Array(want.dx.buffer)))
    tf.dispose([logits, labels, onHost, inWasm])
  })
})

describe('nn.softmaxCrossEntropy on wasm', () => {
  it('takes the kernel for class ids (loss and gradient within 1e-6 of the ops it runs without it), leaking nothing', () => {
    const [logits, labels] = problem(64, 10, 4)
    const lossAndGrad = () =>
      tf.tidy(() => {
        const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => softmaxCrossEntropy(l, labels))(logits)
        return { loss: value.dataSync()[0] as number, dx: grad.dataSync() as Float32Array }
      })
    const before = tf.memory().numTensors
    const withKernel = lossAndGrad()
    expect(tf.memory().numTensors).toBe(before)
    const config = tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'wasm') as tf.KernelConfig
    tf.unregisterKernel(SOFTMAX_CROSS_ENTROPY, 'wasm')
    try {
      const ops = lossAndGrad()
      expect(Math.abs(withKernel.loss - ops.loss)).toBeLessThanOrEqual(1e-6 * ops.loss)
      expect(maxAbsDiff(withKernel.dx, ops.dx)).toBeLessThanOrEqual(1e-6)
    } finally {
      tf.registerKernel(config)
    }
    expect(withKernel.loss).toBe(fused(logits, labels).loss)
    tf.dispose([logits, labels])
  })
})

describe('the wasm loss kernel binary', () => {
  it('is the compilation of wasmLoss.wat (run `npm run build:wasm` after changing it)', async () => {
    const wat = readFileSync(new URL('../../src/backends/wasmLoss.wat', import.meta.url), 'utf8')
    expect(await wasmModuleSource(wat, 'wasmLoss.wat', 'wasmLossBinary')).toContain(`'${wasmLossBinary}'`)
  })
})
