import * as tf from '@tensorflow/tfjs-core'
import type { Workload } from './workloads.js'

/** A matrix product of two rank-2 tensors, without transposes (the floor's operands come transposed). */
export type MatMul = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D

/**
 * The five matrix products of one training step of a dense MLP with one hidden layer (the bench's
 * 784-256-10), with the step's shapes and every operand already in the layout the kernel wants:
 * the forward x·W1 and h·W2, the input gradient dy·W2ᵀ and the weight gradients hᵀ·dy and xᵀ·dh.
 * Nothing else of a step runs: no bias, activation, loss, optimizer or loop.
 *
 * `reused`: the same operand tensors every step, so XNNPACK's fully-connected operators, which tfjs
 * caches by the right-hand tensor, keep their packed weights: the fastest these five products run
 * on tfjs wasm (the issue's "GEMM floor"). `fresh`: a new right-hand tensor every step, as in
 * training, where every weight and gradient is new after each step; XNNPACK then packs it again.
 * Only the products are timed (the copies that make the fresh operands are not).
 *
 * Returns the seconds the `steps` steps' products took.
 */
export const gemmFloorSeconds = (w: Workload, steps: number, mode: 'reused' | 'fresh', matMul: MatMul): number => {
  const [inputs] = w.inputShape as [number]
  const hidden = 256
  const classes = 10
  const n = w.batchSize
  const u = (shape: [number, number], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed) as tf.Tensor2D
  // [left operand, right operand] of each product; the right one is what XNNPACK packs.
  const operands: [tf.Tensor2D, tf.Tensor2D][] = [
    [u([n, inputs], 1), u([inputs, hidden], 2)], // x · W1
    [u([n, hidden], 3), u([hidden, classes], 4)], // h · W2
    [u([n, classes], 5), u([classes, hidden], 6)], // dy · W2ᵀ
    [u([hidden, n], 7), u([n, classes], 8)], // hᵀ · dy
    [u([inputs, n], 9), u([n, hidden], 10)], // xᵀ · dh
  ]
  let ms = 0
  for (let s = 0; s < steps; s++) {
    const rights = mode === 'reused' ? operands.map(([, b]) => b) : operands.map(([, b]) => tf.add(b, 0) as tf.Tensor2D)
    const start = performance.now()
    for (const [i, [a]] of operands.entries()) matMul(a, rights[i] as tf.Tensor2D).dispose()
    ms += performance.now() - start
    if (mode === 'fresh') tf.dispose(rights)
  }
  tf.dispose(operands.flat())
  return ms / 1000
}
