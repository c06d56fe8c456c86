/**
 * `node --import tsx bench/gemmMicro.ts [reps] [steps]`: the five matrix products of one MLP step
 * (784-256-10, batch 128: x·W1, h·W2, dy·W2ᵀ, hᵀ·dy, xᵀ·dh), each timed on its own, three ways in
 * one process, interleaved (A B C C B A in every repetition, so that a machine that other work
 * slows down weighs on all three alike):
 *
 * - `rxtrain`: tf.matMul through the registered wasm kernels (rxtrain's own GEMM where it takes
 *   the product), operands in the layouts training has (x, h and dh untransposed, with
 *   transposeA / transposeB), a fresh right-hand tensor every step;
 * - `floor`: XNNPACK's kernel with the same operands every step, its packed weights reused
 *   (bench/gemmFloor.ts, the bench's GEMM-floor row);
 * - `xnn fresh`: XNNPACK's kernel with a fresh right-hand operand every step.
 *
 * Prints each product's median milliseconds and the ratios to the floor. Only these in-process
 * ratios mean anything on a shared machine.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { xnnpackBatchMatMul } from '../src/backends/wasmGemm.js'
import { startBackend } from '../src/index.js'
import { gemmFloorSeconds, type MatMul } from './gemmFloor.js'
import { mlp } from './workloads.js'

const reps = Number(process.argv[2] ?? 15)
const steps = Number(process.argv[3] ?? 20)
const names = ['x·W1', 'h·W2', 'dy·W2ᵀ', 'hᵀ·dy', 'xᵀ·dh'] as const

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Milliseconds per step of each product, for `steps` steps. */
type PerProduct = number[]

/** XNNPACK through gemmFloorSeconds, with each of its five calls timed (they come in product order). */
const xnnpack = (mode: 'reused' | 'fresh'): PerProduct => {
  const ms = names.map(() => 0)
  let call = 0
  const timed: MatMul = (a, b) => {
    const start = performance.now()
    const out = xnnpackBatchMatMul(a, b)
    const i = call % names.length
    ms[i] = (ms[i] as number) + performance.now() - start
    call += 1
    return out
  }
  gemmFloorSeconds(mlp, steps, mode, timed)
  return ms.map((t) => t / steps)
}

/** rxtrain's registered kernels, on the operands in training's layouts, right-hand operands fresh. */
const rxtrain = (): PerProduct => {
  const [n, inputs, hidden, classes] = [mlp.batchSize, 784, 256, 10]
  const u = (shape: [number, number], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed) as tf.Tensor2D
  const [x, w1, h, w2, dy, dh] = [u([n, inputs], 1), u([inputs, hidden], 2), u([n, hidden], 3), u([hidden, classes], 4), u([n, classes], 5), u([n, hidden], 6)]
  // [a, b, transposeA, transposeB]
  const products: [tf.Tensor2D, tf.Tensor2D, boolean, boolean][] = [
    [x, w1, false, false],
    [h, w2, false, false],
    [dy, w2, false, true],
    [h, dy, true, false],
    [x, dh, true, false],
  ]
  const ms = names.map(() => 0)
  for (let s = 0; s < steps; s++) {
    const rights = products.map(([, b]) => tf.add(b, 0) as tf.Tensor2D)
    for (const [i, [a, , ta, tb]] of products.entries()) {
      const start = performance.now()
      const out = tf.matMul(a, rights[i] as tf.Tensor2D, ta, tb)
      ms[i] = (ms[i] as number) + performance.now() - start
      out.dispose()
    }
    tf.dispose(rights)
  }
  tf.dispose([x, w1, h, w2, dy, dh])
  return ms.map((t) => t / steps)
}

const variants = { rxtrain, floor: () => xnnpack('reused'), 'xnn fresh': () => xnnpack('fresh') } as const
type Variant = keyof typeof variants

const main = async (): Promise<void> => {
  const started = await startBackend('wasm')()
  if (E.isLeft(started)) throw started.left
  started.right.activate()
  const order = Object.keys(variants) as Variant[]
  for (const v of order) variants[v]() // warm-up
  const runs: Record<Variant, PerProduct[]> = { rxtrain: [], floor: [], 'xnn fresh': [] }
  for (let r = 0; r < reps; r++) {
    const forwards = order.map((_, i) => order[(i + r) % order.length] as Variant)
    for (const v of [...forwards, ...[...forwards].reverse()]) runs[v].push(variants[v]())
  }
  const column = (v: Variant, i: number | 'total') => median(runs[v].map((p) => (i === 'total' ? p.reduce((s, t) => s + t, 0) : (p[i] as number))))
  // Ratios paired by repetition (each repetition's runs of a variant added up), then their median.
  const paired = (v: Variant, i: number | 'total') => {
    const per = (w: Variant) => runs[w].map((p) => (i === 'total' ? p.reduce((s, t) => s + t, 0) : (p[i] as number)))
    const [mine, floor] = [per(v), per('floor')]
    const ratios: number[] = []
    for (let k = 0; k + 1 < mine.length; k += 2) ratios.push(((mine[k] as number) + (mine[k + 1] as number)) / ((floor[k] as number) + (floor[k + 1] as number)))
    return median(ratios)
  }
  const pad = (s: string, w: number) => s.padStart(w)
  console.log(`${reps} repetitions x 2 runs x ${steps} steps per variant; ms per product per step (medians); ratio = paired median of variant / floor`)
  console.log(`${'product'.padEnd(8)}${pad('rxtrain', 10)}${pad('floor', 10)}${pad('xnn fresh', 11)}${pad('rx/floor', 10)}${pad('fresh/floor', 13)}`)
  for (const i of [...names.keys(), 'total' as const]) {
    const label = i === 'total' ? 'total' : names[i]
    console.log(
      `${(label as string).padEnd(8)}${pad(column('rxtrain', i).toFixed(3), 10)}${pad(column('floor', i).toFixed(3), 10)}${pad(column('xnn fresh', i).toFixed(3), 11)}` +
        `${pad(paired('rxtrain', i).toFixed(3), 10)}${pad(paired('xnn fresh', i).toFixed(3), 13)}`,
    )
  }
}

await main()
