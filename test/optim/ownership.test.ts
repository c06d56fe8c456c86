import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { accumulateGradients } from '../../src/optim/accumulate.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { adam, adamw, rmsprop, sgd } from '../../src/optim/aliases.js'
import { applyIfFinite } from '../../src/optim/applyIfFinite.js'
import { chain } from '../../src/optim/chain.js'
import { clipByGlobalNorm, clipByValue } from '../../src/optim/clip.js'
import { identity } from '../../src/optim/identity.js'
import { reduceOnPlateau } from '../../src/optim/plateau.js'
import { scaleByRms } from '../../src/optim/rms.js'
import { scale, scaleByLearningRate, scaleBySchedule } from '../../src/optim/scale.js'
import { trace } from '../../src/optim/trace.js'
import type { GradientTransform } from '../../src/optim/transform.js'
import { addDecayedWeights } from '../../src/optim/weightDecay.js'
import { mapParams, releaseGeneration, tensorsOf } from '../../src/tree/tree.js'
import type { Params, StateTree } from '../../src/tree/tree.js'
import { step, tinyTree } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/** A state whose plateau scale is already reduced, so `update` really multiplies. */
const reducedPlateau = (): GradientTransform => {
  const t = reduceOnPlateau({ patience: 0, factor: 0.5 })
  return { ...t, init: (p) => t.observe!(t.observe!(t.init(p), { 'val/loss': 1 }), { 'val/loss': 2 }) }
}

const transforms: Record<string, () => GradientTransform> = {
  identity: () => identity(),
  scale: () => scale(2),
  scaleBySchedule: () => scaleBySchedule((n) => 0.1 * (n + 1)),
  scaleByLearningRate: () => scaleByLearningRate(0.1),
  scaleByAdam: () => scaleByAdam({ epsRoot: 1e-8 }),
  scaleByRms: () => scaleByRms({ centered: true }),
  trace: () => trace({ decay: 0.9 }),
  'trace nesterov': () => trace({ decay: 0.9, nesterov: true }),
  addDecayedWeights: () => addDecayedWeights({ weightDecay: 0.1, mask: (p) => p === 'w' }),
  clipByGlobalNorm: () => clipByGlobalNorm(0.5),
  clipByValue: () => clipByValue(0.5),
  applyIfFinite: () => applyIfFinite(sgd({ lr: 0.1, momentum: 0.9 })),
  accumulateGradients: () => accumulateGradients(3, adam({ lr: 0.1 })),
  reduceOnPlateau: reducedPlateau,
  sgd: () => sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  adam: () => adam(),
  adamw: () => adamw({ lr: 0.01 }),
  rmsprop: () => rmsprop({ momentum: 0.9, centered: true }),
  chain: () => chain(clipByGlobalNorm(1), trace({ decay: 0.5 }), scaleByAdam(), scaleByLearningRate(0.1)),
}

/** A state or update tree with its tensors replaced by their values (for equality). */
const plain = (value: unknown): unknown => {
  if (value instanceof tf.Tensor) return Array.from(value.dataSync())
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

/** Gradients for step i: depend on the parameters and on i; non-finite when `poison`. */
const gradsFor =
  (i: number, poison = false) =>
  (p: Params): Params =>
    mapParams(p, (t) => tf.mul(tf.add(tf.mul(t, 0.5), tf.scalar(Math.sin(i + 1))), tf.scalar(poison ? NaN : 1)))

describe.each(Object.entries(transforms))('%s', (_, make) => {
  it('is pure: the same inputs give the same outputs, and no input is disposed', () => {
    const t = make()
    const params = tinyTree(1, -2, 0.5)
    // advance one step first, so the state is not all zeros
    const first = step(t, tinyTree(1, -2, 0.5), t.init(params), gradsFor(0))
    const state = first.state
    const grads = tinyTree(0.3, -0.7, 1.1)
    const inputs = tensorsOf([params, state, grads])
    const [once, twice] = [0, 1].map(() => {
      let out: unknown
      tf.tidy(() => {
        const [u, s] = t.update(grads, state, params)
        out = plain([u, s])
      })
      return out
    })
    expect(twice).toEqual(once)
    expect(inputs.every((x) => !x.isDisposed)).toBe(true)
    expect(plain(grads)).toEqual(plain(tinyTree(0.3, -0.7, 1.1)))
    releaseGeneration([params, state, grads, first.params], null)
  })

  it('leaks nothing: the tensor count is flat over 30 steps and returns to the baseline', () => {
    const baseline = tf.memory().numTensors
    const t = make()
    let params = tinyTree(1, -2, 0.5)
    let state: StateTree = t.init(params)
    const counts: number[] = []
    for (let i = 0; i < 30; i++) {
      const next = step(t, params, state, gradsFor(i, i % 7 === 3)) // some steps are NaN
      params = next.params
      state = next.state
      counts.push(tf.memory().numTensors)
      // exactly the live generation exists: nothing else survived the step
      expect(tf.memory().numTensors - baseline).toBe(tensorsOf([params, state]).length)
    }
    expect(new Set(counts.slice(3)).size).toBe(1)
    releaseGeneration([params, state], null)
    expect(tf.memory().numTensors).toBe(baseline)
  })
})
