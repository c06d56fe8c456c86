import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { DENSE } from '../../src/backends/fusedKernelNames.js'
import { registerWasmBias, tfjsWasmKernel, wasmBiasIn } from '../../src/backends/wasmBias.js'
import { wasmBiasBinary } from '../../src/backends/wasmBiasBinary.js'
import { softmaxCrossEntropy } from '../../src/nn/losses.js'
import { nn } from '../../src/index.js'
import { key } from '../../src/random/key.js'
import { flattenParams, type Params, unflattenParams } from '../../src/tree/tree.js'
import { wasmModuleSource } from '../../scripts/wasmModuleSource.js'
import { useBackend } from '../support/backend.js'
import { bits, tfjs, unreachableMemory, values, withTfjsKernels } from './wasmFusedSupport.js'

let wasm: Backend
beforeAll(async () => {
  wasm = await useBackend('wasm')
})
afterAll(() => wasm.activate())

const shapes = [[128, 256], [128, 10], [7, 13], [3, 5, 6], [1000, 33], [1, 4], [2, 1]]

describe("the wasm bias kernels (rxtrain's Add and Sum for a dense layer's bias)", () => {
  it('replace tfjs-backend-wasm’s Add and Sum when the wasm backend starts (and registering again changes nothing)', () => {
    expect(tfjsWasmKernel('Add')).toBeDefined()
    expect(tf.getKernel('Add', 'wasm')?.kernelFunc).not.toBe(tfjsWasmKernel('Add'))
    expect(tf.getKernel('Sum', 'wasm')?.kernelFunc).not.toBe(tfjsWasmKernel('Sum'))
    const add = tf.getKernel('Add', 'wasm')?.kernelFunc
    expect(registerWasmBias()).toBe(true)
    expect(tf.getKernel('Add', 'wasm')?.kernelFunc).toBe(add)
  })

  it('add a bias [c] to x [..., c] bitwise as tfjs’s kernel does, in either operand order', () => {
    for (const [i, shape] of shapes.entries())
      tf.tidy(() => {
        const x = values(shape, 10 * i)
        const b = values([shape.at(-1) as number], 10 * i + 5)
        expect(bits(tf.add(x, b))).toEqual(bits(tfjs('Add', { a: x, b })))
        expect(bits(tf.add(b, x))).toEqual(bits(tfjs('Add', { a: b, b: x })))
        expect(tf.add(x, b).shape).toEqual(shape)
      })
  })

  it('sum over the leading axes bitwise as tfjs’s kernel does (rows added in order, from 0: a column of -0 sums to 0)', () => {
    for (const [i, shape] of shapes.entries())
      tf.tidy(() => {
        const x = values(shape, 10 * i + 3)
        const lead = shape.length === 3 ? [0, 1] : [0]
        for (const keepDims of [false, true]) {
          const got = tf.sum(x, lead, keepDims)
          const want = tfjs('Sum', { x }, { axis: lead, keepDims })
          expect(got.shape).toEqual(want.shape)
          expect(bits(got)).toEqual(bits(want))
        }
      })
    tf.tidy(() => {
      const negativeZeros = tf.tensor2d([-0, -0, 1, -0, -0, -2], [2, 3])
      expect(bits(tf.sum(negativeZeros, 0))).toEqual(bits(tfjs('Sum', { x: negativeZeros }, { axis: [0], keepDims: false })))
      expect(Object.is(tf.sum(negativeZeros, 0).dataSync()[0], 0)).toBe(true)
    })
  })

  it('leave every other case to tfjs’s kernels, with their results', () => {
    tf.tidy(() => {
      const x = values([6, 4], 1)
      const y = values([6, 4], 2)
      expect(bits(tf.add(x, y))).toEqual(bits(tfjs('Add', { a: x, b: y })))
      expect(bits(tf.add(x, tf.scalar(2)))).toEqual(bits(tfjs('Add', { a: x, b: tf.scalar(2) })))
      expect(bits(tf.add(x, values([6, 1], 3)))).toEqual(bits(tfjs('Add', { a: x, b: values([6, 1], 3) })))
      expect(Array.from(tf.add(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')).dataSync())).toEqual([4, 6])
      expect(bits(tf.sum(x, 1))).toEqual(bits(tfjs('Sum', { x }, { axis: [1], keepDims: false })))
      expect(bits(tf.sum(x))).toEqual(bits(tfjs('Sum', { x }, { axis: [0, 1], keepDims: false })))
      expect(Array.from(tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0).dataSync())).toEqual([4, 6])
      expect(tf.sum(tf.zeros([0, 3]), 0).shape).toEqual([3])
    })
  })

  it('make their output and nothing else (no tensor or backend memory left behind)', () => {
    const [x, b] = [values([9, 5], 4), values([5], 5)]
    const [tensors, data] = [tf.memory().numTensors, tf.engine().backend.numDataIds()]
    tf.dispose([tf.add(x, b), tf.sum(x, 0), tf.sum(x, 0, true)])
    expect([tf.memory().numTensors, tf.engine().backend.numDataIds()]).toEqual([tensors, data])
    tf.dispose([x, b])
  })

  it('fall back to tfjs’s kernels on a backend object whose memory they cannot import (a threaded build)', () => {
    const backend = unreachableMemory()
    expect(wasmBiasIn(backend)).toBeUndefined()
    tf.tidy(() => {
      const [x, b] = [values([4, 8], 6), values([8], 7)]
      const run = (name: 'Add' | 'Sum', inputs: tf.NamedTensorInfoMap, attrs: object) =>
        tf.engine().makeTensorFromTensorInfo(tf.getKernel(name, 'wasm')?.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo)
      // tfjs's kernels need the backend's own module (its cwrapped functions), so they run on the real one: same bits.
      expect(bits(run('Add', { a: x, b }, {}))).toEqual(bits(tf.add(x, b)))
      expect(bits(run('Sum', { x }, { axis: [0], keepDims: false }))).toEqual(bits(tf.sum(x, 0)))
    })
  })
})

describe('a dense network trained on wasm', () => {
  it('ends 30 steps with bitwise the same loss and parameters with the bias and dense kernels as with tfjs’s kernels (op by op)', () => {
    const net = nn.sequential(nn.dense({ units: 24, activation: 'relu' }), nn.dense({ units: 5 }))
    const train = (): number[] => {
      const init = net.init(key(0), [20])
      let params = init.params as Params
      let loss = 0
      for (let step = 0; step < 30; step++) {
        const [x, y] = [values([16, 20], 100 + step), tf.tensor1d(Array.from({ length: 16 }, (_, i) => (i * 3 + step) % 5), 'int32')]
        const leaves = flattenParams(params)
        const { value, grads } = tf.tidy(() =>
          tf.valueAndGrads((...ts: tf.Tensor[]) => {
            const p = unflattenParams(params, ts)
            return softmaxCrossEntropy(net.apply({ params: p as typeof init.params, state: init.state }, x, { training: true, key: key(1) } as never).y, y)
          })(leaves.map((l) => l.tensor)),
        )
        loss = value.dataSync()[0] as number
        const next = unflattenParams(params, leaves.map((l, i) => tf.tidy(() => tf.sub(l.tensor, tf.mul(grads[i] as tf.Tensor, 0.1)))))
        tf.dispose([value, ...grads, x, y, ...leaves.map((l) => l.tensor)])
        params = next
      }
      const out = [loss, ...flattenParams(params).flatMap((l) => bits(l.tensor))]
      tf.dispose(flattenParams(params).map((l) => l.tensor))
      return out
    }
    const before = tf.memory().numTensors
    const fused = train()
    expect(tf.getKernel(DENSE, 'wasm')).toBeDefined()
    expect(withTfjsKernels(train)).toEqual(fused)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('the wasm bias kernel binary', () => {
  it('is the compilation of wasmBias.wat (run `npm run build:wasm` after changing it)', async () => {
    const wat = readFileSync(new URL('../../src/backends/wasmBias.wat', import.meta.url), 'utf8')
    expect(await wasmModuleSource(wat, 'wasmBias.wat', 'wasmBiasBinary')).toContain(`'${wasmBiasBinary}'`)
  })
})
