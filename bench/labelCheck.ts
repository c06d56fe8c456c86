/**
 * What the class-id range check costs (issue 16, point 10): `nn.softmaxCrossEntropy` reads a
 * batch's ids on the host (cpu, wasm, tensorflow) and throws a DataError for one outside
 * [0, classes). Measured on the wasm MLP 784-256-10, batch 128, Adam, in one process:
 *
 * - the check alone, called on the [128] int32 labels of a step (the read and the loop), against
 *   the median time of a `fit` step: the precise figure;
 * - whole `fit` runs with the library's loss (checked) and with the same loss written by hand
 *   (unchecked), alternated, as a sanity check of the first (run-to-run noise is of the order of
 *   a few percent on a shared 2-core box, larger than the check).
 *
 * Run: node --import tsx bench/labelCheck.ts   (prints a table and one JSON line)
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { filter, lastValueFrom, tap } from 'rxjs'
import { defineModule, effects, fit, fromArrays, nn, optim, startBackend } from '../src/index.js'
import { checkClassIds } from '../src/nn/classIds.js'

const BATCH = 128
const STEPS = 200
const ROUNDS = 5
const CHECK_CALLS = 20_000

const started = await startBackend('wasm')()
if (E.isLeft(started)) throw started.left
const backend = started.right
backend.activate()

const examples = BATCH * 50
const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((Math.sin(i * 12.9898 + seed) * 43758.5453) % 1 + 1) % 1)
const train = fromArrays(
  { x: { data: random(examples * 784, 1), shape: [784] }, y: { data: Int32Array.from({ length: examples }, (_, i) => (i * 7) % 10), shape: [], dtype: 'int32' } },
  { batchSize: BATCH, shuffle: true },
)

const net = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 }))
type Batch = { x: tf.Tensor; y: tf.Tensor }

/** The library's loss without its id check: the same ops in the same order. */
const unchecked = (logits: tf.Tensor, labels: tf.Tensor): tf.Scalar =>
  tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), 10, 1, 0, 'float32'), tf.logSoftmax(logits)), -1)))

const moduleWith = (loss: (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar) =>
  defineModule({
    init: (k) => net.init(k, [784]),
    trainingStep: (model, batch: Batch, ctx) => ({ loss: loss(net.apply(model, batch.x, ctx).y, batch.y) }),
    optimizer: optim.adam({ lr: 1e-3 }),
  })

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/** The median time between consecutive training steps of one `fit` run (the first 10 left out). */
const stepMs = async (loss: (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar): Promise<number> => {
  const times: number[] = []
  await lastValueFrom(
    fit(moduleWith(loss), { train }, { maxSteps: STEPS, numSanityValSteps: 0, logEveryNSteps: 1000 }, { backend, console: effects.bufferConsole() }).pipe(
      filter((e) => e.type === 'trainStep'),
      tap(() => times.push(performance.now())),
    ),
  )
  const gaps = times.slice(10).map((t, i) => t - (times[i + 9] as number))
  return median(gaps)
}

const checked: number[] = []
const plain: number[] = []
for (let r = 0; r < ROUNDS; r++) {
  checked.push(await stepMs(nn.softmaxCrossEntropy))
  plain.push(await stepMs(unchecked))
}

// The check alone, on a step's labels, as the loss calls it.
const labels = tf.tensor(Int32Array.from({ length: BATCH }, (_, i) => i % 10), [BATCH], 'int32')
for (let i = 0; i < 1000; i++) checkClassIds('bench', labels, 10)
const t0 = performance.now()
for (let i = 0; i < CHECK_CALLS; i++) checkClassIds('bench', labels, 10)
const checkUs = ((performance.now() - t0) / CHECK_CALLS) * 1000
labels.dispose()

const stepChecked = median(checked)
const stepPlain = median(plain)
const result = {
  backend: backend.description,
  batch: BATCH,
  stepMsChecked: Number(stepChecked.toFixed(3)),
  stepMsUnchecked: Number(stepPlain.toFixed(3)),
  runRatio: Number((stepChecked / stepPlain).toFixed(4)),
  checkUs: Number(checkUs.toFixed(3)),
  checkShareOfStep: Number((checkUs / 1000 / stepPlain).toFixed(6)),
}
console.log(`wasm MLP 784-256-10, batch ${BATCH}, ${ROUNDS} alternated runs of ${STEPS} steps (median step)`)
console.log(`  checked loss   ${stepChecked.toFixed(3)} ms   (runs: ${checked.map((v) => v.toFixed(2)).join(', ')})`)
console.log(`  unchecked loss ${stepPlain.toFixed(3)} ms   (runs: ${plain.map((v) => v.toFixed(2)).join(', ')})`)
console.log(`  the check alone: ${checkUs.toFixed(2)} µs a call = ${(result.checkShareOfStep * 100).toFixed(3)}% of a step`)
console.log(JSON.stringify(result))
