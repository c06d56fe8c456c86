import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { tidy } from '../../src/backends/tidy.js'
import { adam } from '../../src/optim/aliases.js'
import { applyUpdates } from '../../src/optim/applyUpdates.js'
import { exponentialDecay } from '../../src/optim/schedules.js'
import { withUpdateContext } from '../../src/optim/transform.js'
import { disposeTree, flattenParams, type Params, type StateTree } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'

let cpu: Backend
let wasm: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  wasm = await useBackend('wasm')
})
afterAll(() => cpu.activate())

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer))
const allBits = (tree: unknown): number[][] => flattenParams(tree as Params).map((l) => bits(l.tensor))

/** Leaves of sizes that exercise the kernel's four-lane loop and its rest (and an empty one). */
const paramsOf = (seed: number): Params => ({
  kernel: tf.randomNormal([37, 11], 0, 0.1, 'float32', seed),
  bias: tf.randomNormal([11], 0, 0.1, 'float32', seed + 1),
  nested: { scale: tf.randomNormal([3], 0, 0.1, 'float32', seed + 2), none: tf.zeros([0]) },
})
const gradsOf = (step: number): Params => tf.tidy(() => {
  const p = paramsOf(100 + step)
  return { kernel: tf.mul(p.kernel as tf.Tensor, 10), bias: p.bias as tf.Tensor, nested: p.nested as Params }
})

/** `steps` Adam steps from the same parameters, through `fusedStep` or through `update` + `applyUpdates`. */
const train = (optimizer: ReturnType<typeof adam>, backend: Backend, steps: number, fused: boolean) => {
  const opt = withUpdateContext(optimizer, backend)
  let params = paramsOf(1)
  let state: StateTree = opt.init(params)
  let usedFused = 0
  for (let t = 0; t < steps; t++) {
    const grads = gradsOf(t)
    const [nextParams, nextState] = tidy(() => {
      const done = fused ? opt.fusedStep?.(grads, state as never, params) : undefined
      if (done !== undefined) usedFused++
      if (done !== undefined) return done
      const [u, s] = opt.update(grads, state as never, params)
      return [applyUpdates(params, u), s] as const
    })
    disposeTree([grads, params, state])
    params = nextParams
    state = nextState as StateTree
  }
  return { params, state, usedFused }
}

describe.each([
  ['wasm', () => wasm],
  ['cpu', () => cpu],
])("optim.adam's fused step on %s", (_, backend) => {
  it.each([
    ['constant lr, float32 bias corrections', () => adam({ lr: 1e-2, biasCorrection: 'float32' })],
    ['a schedule, float64 bias corrections', () => adam({ lr: exponentialDecay({ init: 0.05, decayRate: 0.5, transitionSteps: 2 }), b2: 0.98 })],
  ])('gives bitwise the parameters and state of update + applyUpdates (%s), in one kernel per leaf', (_, make) => {
    backend().activate()
    const before = tf.memory().numTensors
    const fused = train(make(), backend(), 6, true)
    const ops = train(make(), backend(), 6, false)
    expect(fused.usedFused).toBe(6)
    expect(ops.usedFused).toBe(0)
    expect(allBits(fused.params)).toEqual(allBits(ops.params))
    expect(allBits((fused.state as unknown as [{ mu: Params }])[0].mu)).toEqual(allBits((ops.state as unknown as [{ mu: Params }])[0].mu))
    expect(allBits((fused.state as unknown as [{ nu: Params }])[0].nu)).toEqual(allBits((ops.state as unknown as [{ nu: Params }])[0].nu))
    expect(JSON.stringify([(fused.state as unknown as [{ count: number }, { count: number }])[0].count, (fused.state as unknown as [unknown, { count: number }])[1].count])).toBe('[6,6]')
    disposeTree([fused.params, fused.state, ops.params, ops.state])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('runs one kernel per leaf: no tfjs op besides it', async () => {
    backend().activate()
    const opt = withUpdateContext(adam({ lr: 1e-3 }), backend())
    const params = paramsOf(3)
    const state = opt.init(params)
    const grads = gradsOf(0)
    const info = await tf.profile(() => {
      disposeTree(opt.fusedStep?.(grads, state, params))
      return []
    })
    expect(info.kernels.map((k) => k.name)).toEqual(Array(4).fill('RxtrainFusedAdamStep'))
    disposeTree([params, state, grads])
  })

  it('declines without the kernel: with fused: false, or called without the backend', () => {
    backend().activate()
    const params = paramsOf(4)
    const grads = gradsOf(1)
    const plain = adam({ lr: 1e-3 })
    const state = plain.init(params)
    expect(withUpdateContext(adam({ lr: 1e-3, fused: false }), backend()).fusedStep?.(grads, state, params)).toBeUndefined()
    expect(plain.fusedStep?.(grads, state, params)).toBeUndefined()
    disposeTree([params, grads, state])
  })
})
