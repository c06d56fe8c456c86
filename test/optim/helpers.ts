import * as tf from '@tensorflow/tfjs-core'
import { expect } from 'vitest'
import type { GradientTransform } from '../../src/optim/transform.js'
import { applyUpdates } from '../../src/optim/applyUpdates.js'
import { flattenParams, releaseGeneration } from '../../src/tree/tree.js'
import type { Params, StateTree } from '../../src/tree/tree.js'

/** Plain values of a tree's leaves, by path: `{ 'b/c': [0.5], w: [1, -2] }`. */
export const valuesOf = (tree: Params): Record<string, number[]> =>
  Object.fromEntries(flattenParams(tree).map((l) => [l.path, Array.from(l.tensor.dataSync())]))

/** The tiny tree used by the hand-computed tests: `{ w: [w0, w1], b: { c: [c] } }`. */
export const tinyTree = (w0: number, w1: number, c: number): Params => ({
  w: tf.tensor1d([w0, w1]),
  b: { c: tf.tensor1d([c]) },
})

/** Asserts two value records agree leaf by leaf within `tol` (absolute). */
export const expectValuesClose = (
  actual: Record<string, number[]>,
  expected: Record<string, number[]>,
  tol = 1e-6,
): void => {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort())
  for (const [path, values] of Object.entries(expected)) {
    const got = actual[path] ?? []
    expect(got.length, path).toBe(values.length)
    values.forEach((v, i) => {
      const g = got[i] as number
      if (Math.abs(g - v) > tol) expect.fail(`${path}[${i}]: expected ${v}, got ${g} (tol ${tol})`)
    })
  }
}

/** What one optimizer step hands back: the next parameters and state. */
export interface Stepped<S extends StateTree> {
  readonly params: Params
  readonly state: S
  readonly updates: Record<string, number[]>
}

/**
 * One training-loop step as the runner does it: update and apply inside `tf.tidy`, then release
 * the previous generation (params and state) by identity.
 */
export const step = <S extends StateTree>(
  optimizer: GradientTransform<S>,
  params: Params,
  state: S,
  grads: (params: Params) => Params,
): Stepped<S> => {
  let updates: Record<string, number[]> = {}
  const [nextParams, nextState] = tf.tidy(() => {
    const [u, s] = optimizer.update(grads(params), state, params)
    updates = valuesOf(u)
    return [applyUpdates(params, u), s] as unknown as tf.TensorContainer
  }) as unknown as [Params, S]
  releaseGeneration(state, nextState)
  releaseGeneration(params, nextParams)
  return { params: nextParams, state: nextState, updates }
}

/**
 * Runs `optimizer` from `params` over a sequence of gradient trees (given as functions of the
 * current parameters) and returns the parameter values after each step. Consumes `params`.
 */
export const trajectory = <S extends StateTree>(
  optimizer: GradientTransform<S>,
  params: Params,
  grads: readonly ((params: Params) => Params)[],
): Record<string, number[]>[] => {
  let current = params
  let state = optimizer.init(params)
  const out: Record<string, number[]>[] = []
  for (const g of grads) {
    const next = step(optimizer, current, state, g)
    current = next.params
    state = next.state
    out.push(valuesOf(current))
  }
  releaseGeneration(state, null)
  releaseGeneration(current, null)
  return out
}

/** The three gradient trees of the hand-computed tests (independent of the parameters). */
export const handGrads: readonly ((params: Params) => Params)[] = [
  () => tinyTree(0.5, 1, -1),
  () => tinyTree(1, -1, 2),
  () => tinyTree(-0.5, 0, 1),
]
