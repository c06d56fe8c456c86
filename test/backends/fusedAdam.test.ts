import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { registerCpuAdam } from '../../src/backends/cpuAdam.js'
import { FUSED_ADAM, fusedAdam, hasFusedAdam, registerFusedAdam } from '../../src/backends/fusedAdam.js'
import { wasmAdamBinary } from '../../src/backends/wasmAdamBinary.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { flattenParams, type Params } from '../../src/tree/tree.js'
import { wasmModuleSource } from '../../scripts/wasmModuleSource.js'
import { useBackend } from '../support/backend.js'

let cpu: Backend
let wasm: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  wasm = await useBackend('wasm')
})
afterAll(() => cpu.activate())

// Step 7 of Adam, with tf.train.adam's float32 running powers.
const attrs = { b1: 0.9, c1: 1 - 0.9, b2: 0.999, c2: 1 - 0.999, k1: 1 - Math.fround(0.9 ** 7), k2: 1 - Math.fround(0.999 ** 7), eps: 1e-8 }

/** Adam's step for one leaf, one tfjs op per operation (the reference the kernels must equal bit for bit). */
const opByOp = (g: tf.Tensor, m: tf.Tensor, v: tf.Tensor): tf.Tensor[] => {
  const s = (x: number) => tf.scalar(x)
  const mu = tf.add(tf.mul(m, s(attrs.b1)), tf.mul(g, s(attrs.c1)))
  const nu = tf.add(tf.mul(v, s(attrs.b2)), tf.mul(tf.square(g), s(attrs.c2)))
  return [mu, nu, tf.div(tf.div(mu, s(attrs.k1)), tf.add(tf.sqrt(tf.div(nu, s(attrs.k2))), s(attrs.eps)))]
}

/** Random gradients and moments (the second moment non-negative, some of it zero). */
const leaf = (shape: number[], seed: number): [tf.Tensor, tf.Tensor, tf.Tensor] => [
  tf.randomNormal(shape, 0, 1e-2, 'float32', seed),
  tf.randomNormal(shape, 0, 1e-3, 'float32', seed + 1),
  tf.relu(tf.randomNormal(shape, 0, 1e-5, 'float32', seed + 2)),
]

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer))

/** How many elements of two tensors differ in any bit (a count, so that a failure prints briefly). */
const differing = (x: tf.Tensor, y: tf.Tensor): number => {
  const [a, b] = [bits(x), bits(y)]
  return a.length !== b.length ? Number.POSITIVE_INFINITY : a.filter((v, i) => v !== b[i]).length
}

describe.each([
  ['wasm', () => wasm],
  ['cpu', () => cpu],
])('the fused Adam kernel on %s', (_, backend) => {
  it('gives bitwise the moments and update of the op-by-op step, for leaves of any size (SIMD lanes and the rest)', () => {
    backend().activate()
    expect(hasFusedAdam()).toBe(true)
    for (const [i, shape] of [[784, 256], [257], [3], [], [10, 7]].entries()) {
      tf.tidy(() => {
        const [g, m, v] = leaf(shape, 10 * i)
        const fused = fusedAdam(g, m, v, attrs)
        if (fused === undefined) throw new Error('the kernel is registered')
        const reference = opByOp(g, m, v)
        fused.forEach((t, k) => {
          expect(t.shape).toEqual(shape)
          expect(differing(t, reference[k] as tf.Tensor)).toBe(0)
        })
      })
    }
  })

  it('makes its three outputs and nothing else, and leaves its inputs intact', () => {
    backend().activate()
    const [g, m, v] = tf.tidy(() => leaf([33], 5))
    const before = bits(m)
    const count = tf.memory().numTensors
    const out = [...(fusedAdam(g, m, v, attrs) ?? [])]
    expect(tf.memory().numTensors).toBe(count + 3)
    tf.dispose(out)
    expect(tf.memory().numTensors).toBe(count)
    expect(bits(m)).toEqual(before)
    tf.dispose([g, m, v])
  })

  it('declines leaves that are not float32 (the caller runs the ops)', () => {
    backend().activate()
    tf.tidy(() => {
      const [g, m, v] = leaf([4], 1)
      expect(fusedAdam(tf.cast(g, 'int32'), m, v, attrs)).toBeUndefined()
      expect(fusedAdam(g, tf.zeros([5]), v, attrs)).toBeUndefined()
    })
  })

  it('scaleByAdam fused (with the backend record as its context) and op by op give bitwise the same updates and state over three steps, also with float64 corrections', () => {
    backend().activate()
    expect(backend().kernels.adam).toBeDefined()
    for (const biasCorrection of ['float32', 'float64'] as const) {
      const params: Params = tf.tidy(() => ({ dense: { kernel: tf.randomNormal([31, 9], 0, 1, 'float32', 1), bias: tf.randomNormal([9], 0, 1, 'float32', 2) } }))
      const run = (fused: boolean) => {
        const adam = scaleByAdam({ biasCorrection, fused })
        let state = adam.init(params)
        const out: number[][] = []
        for (let step = 0; step < 3; step++) {
          const grads = tf.tidy(() => ({ dense: { kernel: tf.randomNormal([31, 9], 0, 0.1, 'float32', 3 + step), bias: tf.randomNormal([9], 0, 0.1, 'float32', 9 + step) } }))
          const [updates, next] = adam.update(grads, state, params, backend())
          out.push(...[updates, next.mu, next.nu].flatMap((t) => flattenParams(t).map((l) => bits(l.tensor))))
          state = next
        }
        return out
      }
      expect(run(true)).toEqual(run(false))
    }
  })
})

describe('where the fused kernel is missing', () => {
  it('scaleByAdam runs op by op with the same numbers, and epsRoot always does', () => {
    cpu.activate()
    const params: Params = { w: tf.zeros([5]) }
    const grads: Params = { w: tf.tensor1d([0.5, -1, 2, 0, 1e-3]) }
    const step = (options: Parameters<typeof scaleByAdam>[0]) => {
      const adam = scaleByAdam(options)
      return bits(flattenParams(adam.update(grads, adam.init(params), params, cpu)[0])[0]?.tensor as tf.Tensor)
    }
    const withKernel = step({})
    tf.unregisterKernel(FUSED_ADAM, 'cpu')
    try {
      expect(hasFusedAdam()).toBe(false)
      expect(fusedAdam(grads.w as tf.Tensor, params.w as tf.Tensor, params.w as tf.Tensor, attrs)).toBeUndefined()
      expect(step({})).toEqual(withKernel)
    } finally {
      registerCpuAdam()
    }
    // first step: update = g / (|g| + eps) to float32 rounding; with epsRoot the root grows
    expect(new Float32Array(new Uint32Array(withKernel).buffer)[0]).toBeCloseTo(1, 6)
    const rooted = new Float32Array(new Uint32Array(step({ epsRoot: 1 })).buffer)
    expect(rooted[0]).toBeCloseTo(0.5 / (Math.sqrt(0.25 + 1) + 1e-8), 6)
  })
})

describe('a backend object that cannot run the kernel', () => {
  it('is not given it (as a wasm backend whose memory is out of reach): Adam runs op by op', () => {
    cpu.activate()
    registerFusedAdam('cpu', () => [], () => false)
    try {
      expect(hasFusedAdam()).toBe(false)
      tf.tidy(() => {
        expect(fusedAdam(tf.zeros([2]), tf.zeros([2]), tf.zeros([2]), attrs)).toBeUndefined()
      })
    } finally {
      registerCpuAdam()
    }
    expect(hasFusedAdam()).toBe(true)
  })
})

describe('the wasm kernel binary', () => {
  it('is the compilation of wasmAdam.wat (run `npm run build:wasm` after changing it)', async () => {
    const wat = readFileSync(new URL('../../src/backends/wasmAdam.wat', import.meta.url), 'utf8')
    const source = await wasmModuleSource(wat, 'wasmAdam.wat', 'wasmAdamBinary')
    expect(source).toContain(`'${wasmAdamBinary}'`)
  })
})
