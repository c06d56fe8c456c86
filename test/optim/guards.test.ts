import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { accumulateGradients } from '../../src/optim/accumulate.js'
import { sgd } from '../../src/optim/aliases.js'
import { allFinite, applyIfFinite } from '../../src/optim/applyIfFinite.js'
import type { ApplyIfFiniteState } from '../../src/optim/applyIfFinite.js'
import type { GradientTransform } from '../../src/optim/transform.js'
import { releaseGeneration } from '../../src/tree/tree.js'
import type { Params, StateTree } from '../../src/tree/tree.js'
import { expectValuesClose, step, tinyTree, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const asValues = (w0: number, w1: number, c: number) => ({ w: [w0, w1], 'b/c': [c] })
const constant = (w0: number, w1: number, c: number) => (): Params => tinyTree(w0, w1, c)

describe('applyIfFinite', () => {
  it('detects NaN and infinities in any leaf', () => {
    tf.tidy(() => {
      expect(allFinite(tinyTree(1, 2, 3))).toBe(true)
      expect(allFinite(tinyTree(1, NaN, 3))).toBe(false)
      expect(allFinite(tinyTree(1, 2, -Infinity))).toBe(false)
      expect(allFinite(tinyTree(3e38, 3e38, 3e38))).toBe(true) // large but finite: no overflow from summing
    })
  })

  it('skips a NaN gradient (params and inner state unchanged, counters updated) and resumes', () => {
    const inner = sgd({ lr: 0.1, momentum: 0.9 })
    const guarded = applyIfFinite(inner)
    expect(guarded.guardsNonFinite).toBe(true)
    let params = tinyTree(1, -2, 0.5)
    let state: ApplyIfFiniteState<StateTree> = guarded.init(params)
    // step 1, finite g1 = [0.5, 1], c -1: trace = g1 -> p = [0.95, -2.1], c 0.6
    let next = step(guarded, params, state, constant(0.5, 1, -1))
    ;({ params, state } = next)
    expectValuesClose(valuesOf(params), asValues(0.95, -2.1, 0.6))
    const innerBefore = state.inner
    const paramsBefore = valuesOf(params)
    // step 2, NaN in one leaf: zero updates, same inner state object, counters 1 / false / 1
    next = step(guarded, params, state, constant(NaN, 1, 1))
    expectValuesClose(next.updates, asValues(0, 0, 0), 0)
    expect(valuesOf(next.params)).toEqual(paramsBefore)
    expect(next.state.inner).toBe(innerBefore)
    expect(next.state).toMatchObject({ notFiniteCount: 1, lastFinite: false, totalNotFinite: 1 })
    ;({ params, state } = next)
    // step 3, infinite: counters 2 / false / 2
    next = step(guarded, params, state, constant(1, Infinity, 1))
    expect(next.state).toMatchObject({ notFiniteCount: 2, lastFinite: false, totalNotFinite: 2 })
    ;({ params, state } = next)
    // step 4, finite g = [1, -1], c 2: resumes as if steps 2-3 never happened
    //   trace = 0.9 [0.5, 1] + [1, -1] = [1.45, -0.1], c 1.1 -> p = [0.805, -2.09], c 0.49
    next = step(guarded, params, state, constant(1, -1, 2))
    expectValuesClose(valuesOf(next.params), asValues(0.805, -2.09, 0.49))
    expect(next.state).toMatchObject({ notFiniteCount: 0, lastFinite: true, totalNotFinite: 2 })
    expect(guarded.hyperparams?.(next.state)).toEqual({ lr: 0.1, momentum: 0.9 })
    releaseGeneration([next.params, next.state], null)
  })

  it('applies the update anyway after maxConsecutiveErrors non-finite ones in a row', () => {
    const guarded = applyIfFinite(sgd({ lr: 0.1 }), { maxConsecutiveErrors: 1 })
    let params = tinyTree(1, -2, 0.5)
    let state = guarded.init(params)
    let next = step(guarded, params, state, constant(NaN, 0, 0))
    expect(valuesOf(next.params).w?.[0]).toBe(1) // first one skipped
    ;({ params, state } = next)
    next = step(guarded, params, state, constant(NaN, 0, 0))
    expect(valuesOf(next.params).w?.[0]).toBeNaN() // second in a row: count 2 > 1, applied
    expect(next.state).toMatchObject({ notFiniteCount: 2, totalNotFinite: 2 })
    releaseGeneration([next.params, next.state], null)
  })
})

describe('accumulateGradients', () => {
  it('returns zeros for k - 1 calls and applies inner to the mean on the k-th', () => {
    // inner: sgd lr 0.1, momentum 0.5; k = 3
    const inner = sgd({ lr: 0.1, momentum: 0.5 })
    const acc = accumulateGradients(3, inner)
    let params = tinyTree(1, -2, 0.5)
    let state = acc.init(params)
    const grads = [[1, 2, 3], [2, 0, -3], [3, 1, 3], [0, 3, 0], [3, 0, 0], [0, 0, 3]].map(([w0, w1, c]) =>
      constant(w0!, w1!, c!),
    )
    const seen: Record<string, number[]>[] = []
    for (const g of grads) {
      const next = step(acc, params, state, g)
      ;({ params, state } = next)
      seen.push(valuesOf(params))
      expect(acc.hyperparams?.(state)).toEqual({ lr: 0.1, momentum: 0.5 })
    }
    // calls 1, 2: nothing moves
    expect(seen[0]).toEqual(asValues(1, -2, 0.5))
    expect(seen[1]).toEqual(asValues(1, -2, 0.5))
    // call 3: mean = [(1+2+3)/3, (2+0+1)/3], c (3-3+3)/3 = [2, 1], c 1; trace = mean
    //   p = [1 - 0.2, -2 - 0.1], c 0.5 - 0.1 = [0.8, -2.1], c 0.4
    expectValuesClose(seen[2]!, asValues(0.8, -2.1, 0.4))
    expect(seen[3]).toEqual(seen[2])
    expect(seen[4]).toEqual(seen[2])
    // call 6: mean = [1, 1], c 1; trace = 0.5 [2, 1] + [1, 1] = [2, 1.5], c 0.5 + 1 = 1.5
    //   p = [0.8 - 0.2, -2.1 - 0.15], c 0.4 - 0.15 = [0.6, -2.25], c 0.25
    expectValuesClose(seen[5]!, asValues(0.6, -2.25, 0.25))
    // the inner learning-rate counter advanced once per k calls
    expect((state.inner as readonly [unknown, { count: number }])[1].count).toBe(2)
    expect(state.miniStep).toBe(0)
    releaseGeneration([params, state], null)
  })

  it('with k = 1 is the inner transform itself', () => {
    const run = (t: GradientTransform) => {
      let params = tinyTree(1, -2, 0.5)
      let state = t.init(params)
      for (const g of [constant(1, 2, 3), constant(-1, 0.5, 2)]) ({ params, state } = step(t, params, state, g))
      const out = valuesOf(params)
      releaseGeneration([params, state], null)
      return out
    }
    expect(run(accumulateGradients(1, sgd({ lr: 0.1, momentum: 0.9 })))).toEqual(run(sgd({ lr: 0.1, momentum: 0.9 })))
  })
})
