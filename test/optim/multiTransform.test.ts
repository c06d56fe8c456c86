import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { adam, sgd } from '../../src/optim/aliases.js'
import { chain } from '../../src/optim/chain.js'
import { clipByGlobalNorm } from '../../src/optim/clip.js'
import { freeze, masked, multiTransform } from '../../src/optim/multiTransform.js'
import { scaleByLearningRate } from '../../src/optim/scale.js'
import { trace } from '../../src/optim/trace.js'
import type { GradientTransform } from '../../src/optim/transform.js'
import { hasTag } from '../../src/errors/rxtrainError.js'
import type { Params, StateTree } from '../../src/tree/tree.js'
import { flattenParams, releaseGeneration, tensorsOf } from '../../src/tree/tree.js'
import { step, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/** `{ disc: { w: [2], b: [1] }, gen: { w: [3] } }`, with values depending on `s`. */
const gan = (s: number): Params => ({
  disc: { w: tf.tensor1d([Math.sin(s) * 2, Math.cos(s)]), b: tf.tensor1d([0.5 - s]) },
  gen: { w: tf.tensor1d([s, -s * 0.5, 1 + s]) },
})
const gradsAt = (i: number) => (): Params => gan(i * 0.7 + 1)
const byNet = (path: string): 'd' | 'g' => (path.startsWith('disc/') ? 'd' : 'g')

/** Bit patterns of every leaf, by path (so -0 and 0, NaN payloads, differ). */
const bitsOf = (tree: Params): Record<string, number[]> =>
  Object.fromEntries(flattenParams(tree).map((l) => [l.path, Array.from(new Uint32Array(new Float32Array(l.tensor.dataSync()).buffer))]))

/** Runs `optimizer` over five steps from `gan(0)`, returning every step's updates and the final params. */
const run = <S extends StateTree>(optimizer: GradientTransform<S>) => {
  let params = gan(0)
  let state = optimizer.init(params)
  const updates: Record<string, number[]>[] = []
  for (let i = 0; i < 5; i++) {
    const s = step(optimizer, params, state, gradsAt(i))
    updates.push(s.updates)
    params = s.params
    state = s.state
  }
  const out = { updates, params: valuesOf(params), bits: bitsOf(params) }
  releaseGeneration(state, null)
  releaseGeneration(params, null)
  return out
}

/** The paths of the tensors a state holds, found by identity against the params' leaves' shapes. */
const stateShapes = (state: StateTree): number[][] => tensorsOf(state).map((t) => t.shape)

describe('multiTransform laws', () => {
  it('equals applying each transform to its own subset of the leaves', () => {
    const both = run(multiTransform({ d: adam({ lr: 0.01 }), g: sgd({ lr: 0.1, momentum: 0.9 }) }, byNet))
    const onlyD = run(freeze((p) => byNet(p) !== 'd', adam({ lr: 0.01 })))
    const onlyG = run(freeze((p) => byNet(p) !== 'g', sgd({ lr: 0.1, momentum: 0.9 })))
    both.updates.forEach((u, i) => {
      const d = onlyD.updates[i] as Record<string, number[]>
      const g = onlyG.updates[i] as Record<string, number[]>
      expect(u).toEqual({ 'disc/b': d['disc/b'], 'disc/w': d['disc/w'], 'gen/w': g['gen/w'] })
    })
    // and the groups really differ (Adam's first step is lr * sign; SGD's is lr * g)
    expect(both.updates[0]?.['disc/w']?.map((x) => Math.abs(x))).toEqual([0.01, 0.01].map((x) => Math.fround(x)))
  })

  it('gives each group state for its own leaves only, under its label', () => {
    tf.tidy(() => {
      const optimizer = multiTransform({ d: scaleByAdam(), g: trace({ decay: 0.9 }) }, byNet)
      const state = optimizer.init(gan(0)) as unknown as Record<string, StateTree>
      expect(Object.keys(state).sort()).toEqual(['d', 'g'])
      expect(stateShapes(state.d as StateTree)).toEqual([[1], [2], [1], [2]]) // mu, nu of disc/b, disc/w
      expect(stateShapes(state.g as StateTree)).toEqual([[3]])
    })
  })

  it('names an unknown label as a ConfigError naming the leaf', () => {
    const optimizer = multiTransform({ d: adam() }, (p) => byNet(p) as 'd')
    tf.tidy(() => {
      try {
        optimizer.init(gan(0))
        expect.fail('init accepted an unknown label')
      } catch (e) {
        expect(hasTag(e, 'ConfigError')).toBe(true)
        expect(String(e)).toContain('gen/w')
      }
    })
  })

  it('composes with chain on either side (clip inside a group clips that group only)', () => {
    const inner = run(multiTransform({ d: chain(clipByGlobalNorm(0.1), scaleByLearningRate(1)), g: scaleByLearningRate(1) }, byNet))
    const outer = run(chain(clipByGlobalNorm(0.1), multiTransform({ d: scaleByLearningRate(1), g: scaleByLearningRate(1) }, byNet)))
    const norm = (u: Record<string, number[]>, keys: string[]) => Math.hypot(...keys.flatMap((k) => u[k] ?? []))
    const u0 = inner.updates[0] as Record<string, number[]>
    expect(norm(u0, ['disc/w', 'disc/b'])).toBeCloseTo(0.1, 5)
    expect(norm(u0, ['gen/w'])).toBeGreaterThan(1) // not clipped
    expect(norm(outer.updates[0] as Record<string, number[]>, ['disc/w', 'disc/b', 'gen/w'])).toBeCloseTo(0.1, 5)
  })

  it('reports hyperparams per group and forwards guardsNonFinite', () => {
    const optimizer = multiTransform({ d: adam({ lr: 2e-4 }), g: sgd({ lr: 0.1 }) }, byNet)
    tf.tidy(() => {
      expect(optimizer.hyperparams?.(optimizer.init(gan(0)))).toEqual({ 'd/lr': 2e-4, 'g/lr': 0.1 })
    })
  })
})

describe('freeze and masked', () => {
  it('freeze keeps the chosen leaves bitwise unchanged and allocates no state for them', () => {
    const frozen = (p: string) => p.startsWith('disc/')
    const result = run(freeze(frozen, adam({ lr: 0.05 })))
    const start = tf.tidy(() => bitsOf(gan(0)))
    expect(result.bits['disc/w']).toEqual(start['disc/w'])
    expect(result.bits['disc/b']).toEqual(start['disc/b'])
    expect(result.bits['gen/w']).not.toEqual(start['gen/w'])
    tf.tidy(() => {
      const state = freeze(frozen, adam()).init(gan(0))
      expect(stateShapes(state)).toEqual([[3], [3]]) // Adam's mu and nu of gen/w only
    })
  })

  it('frozen leaves move with a plain optimizer (so the test above is not vacuous)', () => {
    const start = tf.tidy(() => bitsOf(gan(0)))
    expect(run(adam({ lr: 0.05 })).bits['disc/w']).not.toEqual(start['disc/w'])
  })

  it('freeze() in a multiTransform is a group with zero updates and null state', () => {
    const optimizer = multiTransform({ d: freeze(), g: sgd({ lr: 0.1 }) }, byNet)
    const result = run(optimizer)
    for (const u of result.updates) expect(u['disc/w']).toEqual([0, 0])
    tf.tidy(() => {
      expect((optimizer.init(gan(0)) as unknown as Record<string, StateTree>).d).toBeNull()
    })
  })

  it('masked applies the transform to the chosen leaves and passes the others through', () => {
    const result = run(masked(scaleByLearningRate(0.5), (p) => p.startsWith('gen/')))
    const grads = tf.tidy(() => valuesOf(gradsAt(0)()))
    expect(result.updates[0]?.['disc/w']).toEqual(grads['disc/w'])
    expect(result.updates[0]?.['gen/w']).toEqual(grads['gen/w']?.map((g) => Math.fround(-0.5 * g)))
  })

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors
    run(multiTransform({ d: freeze((p) => p.endsWith('/b'), adam()), g: masked(sgd({ lr: 0.1, momentum: 0.9 }), () => true) }, byNet))
    expect(tf.memory().numTensors).toBe(before)
  })
})
