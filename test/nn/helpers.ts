import * as tf from '@tensorflow/tfjs-core'
import { expect } from 'vitest'
import type { LayerContext } from '../../src/nn/layer.js'
import { key } from '../../src/random/key.js'

/** An evaluation context with a fixed key. */
export const evalCtx: LayerContext = { training: false, key: key(0) }

/** A training context with the key of `seed`. */
export const trainCtx = (seed = 1): LayerContext => ({ training: true, key: key(seed) })

/** The values of a tensor as a flat number array. */
export const valuesOf = (t: tf.Tensor): number[] => Array.from(t.dataSync())

/** Asserts shape and element-wise closeness (absolute tolerance `tol`). */
export const expectTensor = (t: tf.Tensor, shape: readonly number[], expected: readonly number[], tol = 1e-5): void => {
  expect(t.shape).toEqual(shape)
  const actual = valuesOf(t)
  expect(actual.length).toBe(expected.length)
  actual.forEach((v, i) => {
    const e = expected[i] as number
    if (Math.abs(v - e) > tol) expect.fail(`element ${i}: expected ${e}, got ${v} (tolerance ${tol})`)
  })
}

/** Sample mean and (biased) standard deviation. */
export const statsOf = (values: ArrayLike<number>): { mean: number; std: number } => {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i] as number
  const mean = sum / values.length
  let sq = 0
  for (let i = 0; i < values.length; i++) sq += ((values[i] as number) - mean) ** 2
  return { mean, std: Math.sqrt(sq / values.length) }
}

/** The largest absolute value (a loop: spreading a large array into Math.max overflows the stack). */
export const maxAbs = (values: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i] as number))
  return m
}

/** 1, 2, …, n as a float tensor of `shape`. */
export const iota = (shape: readonly number[]): tf.Tensor => {
  const n = shape.reduce((a, b) => a * b, 1)
  return tf.tensor(Array.from({ length: n }, (_, i) => i + 1), [...shape])
}
