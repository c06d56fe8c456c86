import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { applyIfFinite } from '../../src/optim/applyIfFinite.js'
import { chain } from '../../src/optim/chain.js'
import { clipByGlobalNorm, clipByValue } from '../../src/optim/clip.js'
import { identity } from '../../src/optim/identity.js'
import { reduceOnPlateau } from '../../src/optim/plateau.js'
import { scale, scaleByLearningRate } from '../../src/optim/scale.js'
import { trace } from '../../src/optim/trace.js'
import type { GradientTransform } from '../../src/optim/transform.js'
import { hasTag } from '../../src/errors/rxtrainError.js'
import type { Params, StateTree } from '../../src/tree/tree.js'
import { releaseGeneration } from '../../src/tree/tree.js'
import { tinyTree, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

// Five different gradient trees; the stateful members make every update depend on the history.
const gradsAt = (i: number): Params => tinyTree(Math.sin(i + 1) * 3, Math.cos(2 * i) - 0.5, i % 2 === 0 ? 2.5 : -0.7)

/** The updates a transform produces over five steps (state threaded, nothing leaked). */
const updateSequence = <S extends StateTree>(t: GradientTransform<S>): Record<string, number[]>[] => {
  const params = tinyTree(1, -2, 0.5)
  let state = t.init(params)
  const out: Record<string, number[]>[] = []
  for (let i = 0; i < 5; i++) {
    const next = tf.tidy(() => {
      const [u, s] = t.update(gradsAt(i), state, params)
      out.push(valuesOf(u))
      return s as unknown as tf.TensorContainer
    }) as unknown as S
    releaseGeneration(state, next)
    state = next
  }
  releaseGeneration(state, null)
  releaseGeneration(params, null)
  return out
}

const a = () => trace({ decay: 0.9 })
const b = () => scaleByAdam()
const c = () => clipByGlobalNorm(0.5)

describe('chain laws', () => {
  it('applies members left to right', () => {
    tf.tidy(() => {
      const g = tinyTree(0.75, -0.25, 2)
      // scale first: [1.5, -0.5, 4] clipped to [1, -0.5, 1]; clip first: [0.75, -0.25, 1] doubled
      const [scaledFirst] = chain(scale(2), clipByValue(1)).update(g, [null, null], g)
      const [clippedFirst] = chain(clipByValue(1), scale(2)).update(g, [null, null], g)
      expect(valuesOf(scaledFirst)).toEqual({ w: [1, -0.5], 'b/c': [1] })
      expect(valuesOf(clippedFirst)).toEqual({ w: [1.5, -0.5], 'b/c': [2] })
    })
  })

  it('is not commutative for these members (so the laws below are not vacuous)', () => {
    expect(updateSequence(chain(a(), b(), c()))).not.toEqual(updateSequence(chain(c(), b(), a())))
    expect(updateSequence(chain(a(), b()))).not.toEqual(updateSequence(chain(b(), a())))
  })

  it('identity is a left and a right unit', () => {
    const expected = updateSequence(chain(a(), b()))
    expect(updateSequence(chain(identity(), chain(a(), b())))).toEqual(expected)
    expect(updateSequence(chain(chain(a(), b()), identity()))).toEqual(expected)
    expect(updateSequence(chain())).toEqual(updateSequence(identity()))
  })

  it('is associative: chain(chain(a, b), c) = chain(a, chain(b, c)) = chain(a, b, c)', () => {
    const left = updateSequence(chain(chain(a(), b()), c()))
    const right = updateSequence(chain(a(), chain(b(), c())))
    expect(left).toEqual(right)
    expect(updateSequence(chain(a(), b(), c()))).toEqual(left)
  })

  it('its state is the tuple of member states', () => {
    tf.tidy(() => {
      const state = chain(a(), scaleByLearningRate(0.1)).init(tinyTree(1, 2, 3))
      expect(state).toHaveLength(2)
      expect(Object.keys(state[0].trace).sort()).toEqual(['b', 'w'])
      expect(state[1]).toEqual({ count: 0 })
    })
  })
})

describe('chain forwarding', () => {
  it('merges hyperparams and forwards observe to the members that have one', () => {
    const t = chain(trace({ decay: 0.8 }), scaleByLearningRate((n) => 0.1 / (n + 1)), reduceOnPlateau({ patience: 0 }))
    const params = tinyTree(1, 2, 3)
    const s0 = t.init(params)
    expect(t.hyperparams?.(s0)).toEqual({ momentum: 0.8, lr: 0.1, plateauScale: 1 })
    const s1 = t.observe?.(t.observe(s0, { 'val/loss': 1 }), { 'val/loss': 2 }) // worse: patience 0 -> reduce
    expect(s1?.[2].scale).toBeCloseTo(0.1, 12)
    expect(s1?.[0]).toBe(s0[0]) // members without observe keep their state
    expect(t.hyperparams?.(s1!)).toEqual({ momentum: 0.8, lr: 0.1, plateauScale: expect.closeTo(0.1, 12) })
    releaseGeneration(s0, null)
    releaseGeneration(params, null)
  })

  it('has neither observe nor hyperparams when no member does', () => {
    const t = chain(clipByGlobalNorm(1), identity())
    expect(t.observe).toBeUndefined()
    expect(t.hyperparams).toBeUndefined()
  })

  it('guards non-finite updates when any member does', () => {
    expect(chain(clipByGlobalNorm(1), scaleByLearningRate(0.1)).guardsNonFinite).toBe(false)
    expect(chain(clipByGlobalNorm(1), applyIfFinite(scaleByLearningRate(0.1))).guardsNonFinite).toBe(true)
  })

  it('rejects a state of the wrong length with a StructureError', () => {
    const t = chain(identity(), identity())
    const params = tinyTree(1, 2, 3)
    const thrown = (() => {
      try {
        t.update(params, [null] as unknown as readonly [null, null], params)
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(hasTag(thrown, 'StructureError')).toBe(true)
    releaseGeneration(params, null)
  })
})
