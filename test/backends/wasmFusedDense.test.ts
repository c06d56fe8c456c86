import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { DENSE, DENSE_BACKWARD } from '../../src/backends/fusedKernelNames.js'
import { registerWasmDense } from '../../src/backends/wasmBiasDense.js'
import { nn } from '../../src/index.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { bits, unreachableMemory, values, withTfjsKernels } from './wasmFusedSupport.js'

let wasm: Backend
beforeAll(async () => {
  wasm = await useBackend('wasm')
})
afterAll(() => wasm.activate())

type Case = readonly [rows: number, inner: number, cols: number, activation: 'relu' | 'linear', bias: boolean]
const cases: Case[] = [
  [128, 784, 256, 'relu', true],
  [128, 256, 10, 'linear', true],
  [7, 5, 13, 'relu', true],
  [3, 4, 6, 'relu', false],
  [9, 2, 1, 'linear', true],
]

/** A dense layer's output and the gradients of sum(y · w) with respect to x, kernel and bias. */
const layerAndGradients = ([rows, inner, cols, activation, bias]: Case, seed: number): number[][] =>
  tf.tidy(() => {
    const layer = nn.dense({ units: cols, activation, useBias: bias })
    const { params } = layer.init(key(seed), [inner])
    // Inputs with zeros and negative zeros, so that ReLU's edge and signed zeros are covered.
    const x = tf.mul(values([rows, inner], seed), tf.step(tf.randomNormal([rows, inner], 0, 1, 'float32', seed + 7)))
    const weights = values([rows, cols], seed + 3)
    const f = (xx: tf.Tensor, kernel: tf.Tensor, b?: tf.Tensor) => tf.sum(tf.mul(layer.apply({ params: { kernel, ...(b && { bias: b }) }, state: nn.empty }, xx, { training: true, key: key(0) } as never).y, weights))
    const y = layer.apply({ params, state: nn.empty }, x, { training: true, key: key(0) } as never).y
    const grads = tf.grads(f)([x, params.kernel, ...(params.bias ? [params.bias] : [])])
    return [bits(y), ...grads.map(bits)]
  })

describe('the fused dense kernels on wasm (RxtrainDense, RxtrainDenseBackward)', () => {
  it('are registered when the wasm backend starts, with their gradient (and registering again changes nothing)', () => {
    const dense = tf.getKernel(DENSE, 'wasm')
    expect(dense).toBeDefined()
    expect(tf.getKernel(DENSE_BACKWARD, 'wasm')).toBeDefined()
    expect(tf.getGradient(DENSE)).toBeDefined()
    registerWasmDense()
    expect(tf.getKernel(DENSE, 'wasm')).toBe(dense)
  })

  it('give a dense layer bitwise the output and gradients of the op path (matMul, add, relu and their gradients)', () => {
    for (const [i, c] of cases.entries()) {
      const fused = layerAndGradients(c, 10 * i + 1)
      const ops = withTfjsKernels(() => {
        expect(tf.getKernel(DENSE, 'wasm')).toBeUndefined()
        return layerAndGradients(c, 10 * i + 1)
      })
      expect(fused.length).toBe(c[4] ? 4 : 3)
      fused.forEach((b, k) => expect(b, `case ${i}, output ${k}`).toEqual(ops[k]))
    }
  })

  it('propagate NaN through ReLU and its gradient as the op path does (NaN where it has NaN; the sign and payload of a NaN may differ)', () => {
    const nanBits = (t: tf.Tensor) => bits(t).map((b) => ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0 ? 0x7fc00000 : b))
    const run = () =>
      tf.tidy(() => {
        const [a, w, b] = [tf.tensor2d([[Number.NaN, 1], [1, 1]]), tf.tensor2d([[1, -1], [1, 1]]), tf.tensor1d([0, -5])]
        const f = (aa: tf.Tensor) => tf.sum(tf.engine().runKernel(DENSE, { a: aa, b: w, bias: b }, { activation: 'relu', hasBias: true }) as tf.Tensor)
        return tf.getKernel(DENSE, 'wasm') === undefined ? undefined : [nanBits(tf.grad(f)(a)), nanBits(f(a))]
      })
    const opsRun = () =>
      tf.tidy(() => {
        const [a, w, b] = [tf.tensor2d([[Number.NaN, 1], [1, 1]]), tf.tensor2d([[1, -1], [1, 1]]), tf.tensor1d([0, -5])]
        const f = (aa: tf.Tensor) => tf.sum(tf.relu(tf.add(tf.matMul(aa, w), b)))
        return [nanBits(tf.grad(f)(a)), nanBits(f(a))]
      })
    expect(run()).toEqual(withTfjsKernels(opsRun))
  })

  it('make their outputs and nothing else (no tensor or backend memory left behind, forward and backward)', () => {
    const [x, w, b] = [values([6, 5], 2), values([5, 4], 3), values([4], 4)]
    const [tensors, data] = [tf.memory().numTensors, tf.engine().backend.numDataIds()]
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.engine().runKernel(DENSE, { a: xx, b: ww, bias: bb }, { activation: 'relu', hasBias: true }) as tf.Tensor)
    tf.dispose(tf.grads(f)([x, w, b]))
    expect([tf.memory().numTensors, tf.engine().backend.numDataIds()]).toEqual([tensors, data])
    tf.dispose([x, w, b])
  })

  it("run tfjs's kernels, with the same bits, on a backend object whose memory they cannot import (a threaded build)", () => {
    const backend = unreachableMemory()
    tf.tidy(() => {
      const [x, w, b, dy] = [values([7, 5], 5), values([5, 6], 6), values([6], 7), values([7, 6], 8)]
      const info = (name: string, inputs: tf.NamedTensorInfoMap, attrs: object) =>
        tf.getKernel(name, 'wasm')?.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo | tf.TensorInfo[]
      const tensors = (t: tf.TensorInfo | tf.TensorInfo[]) => (Array.isArray(t) ? t : [t]).map((i) => tf.engine().makeTensorFromTensorInfo(i))
      for (const activation of ['relu', 'linear'] as const) {
        const attrs = { activation, hasBias: true }
        const [y] = tensors(info(DENSE, { a: x, b: w, bias: b }, attrs))
        const [yIn] = tensors(tf.engine().runKernel(DENSE, { a: x, b: w, bias: b }, attrs) as tf.Tensor)
        expect(bits(y as tf.Tensor)).toEqual(bits(yIn as tf.Tensor))
        const back = tensors(info(DENSE_BACKWARD, { dy, y: y as tf.Tensor }, attrs))
        const backIn = tf.engine().runKernel(DENSE_BACKWARD, { dy, y: y as tf.Tensor }, attrs) as tf.Tensor[]
        expect(back.map(bits)).toEqual(backIn.map(bits))
      }
    })
  })
})
