/**
 * Non-finite decisions taken on the device ('16-mixed' skipping, applyIfFinite) on a backend
 * without host reads, against the same steps on the plain cpu backend: bitwise the same
 * parameters, optimizer state (Adam's count included), counters, loss scale and skipped steps.
 */
import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Backend, withoutHostReads } from '../../src/backends/backend.js'
import { type PrecisionName, resolvePrecision } from '../../src/backends/precision.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { adam } from '../../src/optim/aliases.js'
import { applyIfFinite } from '../../src/optim/applyIfFinite.js'
import { chain } from '../../src/optim/chain.js'
import { clipByGlobalNorm } from '../../src/optim/clip.js'
import { type GradientTransform, withUpdateContext } from '../../src/optim/transform.js'
import type { TrainState } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { trainStep } from '../../src/pipeline/step.js'
import type { TrainStepContext } from '../../src/pipeline/stepParts.js'
import { tidy } from '../../src/backends/tidy.js'
import { key } from '../../src/random/key.js'
import { disposeTree, type StateTree, tensorsOf } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'

let cpu: Backend
let device: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  device = withoutHostReads(cpu)
})

type P = { w: tf.Tensor; b: tf.Tensor }
type Batch = { x: tf.Tensor; y: tf.Tensor }

/** y = x.w + b with the matmul's inputs through the policy's cast (so float16 gradients overflow). */
const module = (optimizer: GradientTransform<StateTree>) =>
  defineModule({
    init: () => ({ params: { w: tf.tensor([[0.5], [-0.25]]), b: tf.zeros([1]) } as P, state: {} }),
    trainingStep: (model, batch: Batch, ctx) => {
      const cast = ctx.castCompute ?? ((t: tf.Tensor) => t)
      const y = tf.add(tf.matMul(cast(batch.x), cast(model.params.w)), model.params.b)
      return { loss: tf.mean(tf.squaredDifference(y, batch.y)) as tf.Scalar }
    },
    optimizer,
  })

/** Rows of x: ordinary ones, one whose gradients overflow float16 under a 2^16 scale, one NaN, one Inf. */
const rows = [[0.1, 0.2], [0.3, -0.1], [40, 30], [0.2, 0.1], [Number.NaN, 1], [0.5, 0.4], [Number.POSITIVE_INFINITY, 0], [0.1, 0.3], [0.2, 0.2], [0.3, 0.1]]
const batchOf = (i: number): Batch => ({ x: tf.tensor([rows[i % rows.length] as number[]]), y: tf.tensor([[1]]) })

/** Bits of every tensor and every other value of a state tree, in walk order. */
const bitsOf = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v, (_, x) => (x instanceof tf.Tensor ? Array.from(new Uint32Array(Float32Array.from(x.dataSync() as Float32Array).buffer)) : Number.isNaN(x) ? 'NaN' : x)),
  )

/** `steps` steps of `trainStep` on `backend`, settling device decisions as the loop does; the trajectory's bits. */
const run = (backend: Backend, precisionName: PrecisionName, optimizer: GradientTransform<StateTree>, steps: number) => {
  const precision = resolvePrecision(precisionName, undefined, backend)
  const step = trainStep(module(optimizer), withUpdateContext(optimizer, backend), { precision })
  let state: TrainState<P, Record<string, never>> = tidy(() => step.init(module(optimizer).init(key(0))))
  let lossScale = precision.initScale()
  const trace: unknown[] = []
  let flagged = 0
  for (let i = 0; i < steps; i++) {
    const batch = batchOf(i)
    const ctx: TrainStepContext = { stage: 'train', training: true, key: key(i), epoch: 0, batchIdx: i, globalStep: i, lossScale }
    const out = tidy(() => step(state, batch, ctx))
    let next = out.state
    let gradsFinite = out.gradsFinite
    if (out.finiteFlag !== undefined) {
      flagged++
      expect(out.finiteFlag.dtype).toBe('bool')
      const settled = out.settle?.(Array.from(out.finiteFlag.dataSync(), (v) => v !== 0))
      if (settled === undefined) throw new Error('a finiteFlag without settle')
      // The same tensors: only host values differ.
      expect(tensorsOf(settled.state).map((t) => t.id)).toEqual(tensorsOf(out.state).map((t) => t.id))
      next = settled.state
      gradsFinite = settled.gradsFinite
      lossScale = settled.lossScale
      out.finiteFlag.dispose()
    } else lossScale = out.lossScale
    backend.release(state, next)
    tf.dispose([out.loss, batch.x, batch.y])
    state = next
    trace.push({ state: bitsOf(state), gradsFinite, lossScale })
  }
  disposeTree(state)
  return { trace, flagged }
}

const cases: [string, PrecisionName, () => GradientTransform<StateTree>][] = [
  ["'16-mixed' with Adam (skipped steps keep Adam's count)", '16-mixed', () => adam({ lr: 0.05 }) as GradientTransform<StateTree>],
  ["'16-mixed' with clipping, Adam", '16-mixed', () => chain(clipByGlobalNorm(1), adam({ lr: 0.05 })) as GradientTransform<StateTree>],
  ['applyIfFinite(adam)', '32-true', () => applyIfFinite(adam({ lr: 0.05 })) as GradientTransform<StateTree>],
  ['applyIfFinite(adam), maxConsecutiveErrors 0 (applied anyway)', '32-true', () => applyIfFinite(adam({ lr: 0.05 }), { maxConsecutiveErrors: 0 }) as GradientTransform<StateTree>],
  ["'16-mixed' and applyIfFinite(chain(clip, adam)): two decisions a step", '16-mixed', () => applyIfFinite(chain(clipByGlobalNorm(1), adam({ lr: 0.05 }))) as GradientTransform<StateTree>],
  ["'bf16-mixed' and applyIfFinite(adam)", 'bf16-mixed', () => applyIfFinite(adam({ lr: 0.05 })) as GradientTransform<StateTree>],
]

describe('non-finite decisions on the device (a cpu backend without host reads)', () => {
  it.each(cases)('%s: bitwise the host decisions, step by step, no leaks', (_, precision, optimizer) => {
    const before = tf.memory().numTensors
    const host = run(cpu, precision, optimizer(), rows.length)
    const onDevice = run(device, precision, optimizer(), rows.length)
    expect(host.flagged).toBe(0)
    expect(onDevice.flagged).toBe(rows.length)
    expect(onDevice.trace).toEqual(host.trace)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('the trajectories exercise the decisions: steps skipped, counters moved, the scale backed off', () => {
    const skipped = run(device, '16-mixed', adam({ lr: 0.05 }) as GradientTransform<StateTree>, rows.length).trace as { gradsFinite: boolean; lossScale: { scale: number } }[]
    expect(skipped.map((t) => t.gradsFinite)).toEqual([true, true, false, true, false, true, false, true, true, true])
    expect(skipped.at(-1)?.lossScale.scale).toBe(2 ** 13)
    const guarded = run(device, '32-true', applyIfFinite(adam({ lr: 0.05 })) as GradientTransform<StateTree>, rows.length).trace as { state: { optState: { totalNotFinite: number; inner: [{ count: number }, { count: number }] } } }[]
    expect(guarded.at(-1)?.state.optState.totalNotFinite).toBe(2)
    // Adam's count and the schedule's count moved only on the finite updates.
    expect(guarded.at(-1)?.state.optState.inner.map((s) => s.count)).toEqual([rows.length - 2, rows.length - 2])
  })
})

/** A fit over the rows (an epoch of them, twice) on `backend`: the trained parameters' bits. Under '16-mixed' the loss must stay finite (a NaN loss fails the run): large rows instead. */
const fitBits = async (backend: Backend, precision: PrecisionName, optimizer: GradientTransform<StateTree>) => {
  const x = Float32Array.from(rows.flat(), (v) => (precision === '16-mixed' && !Number.isFinite(v) ? 60 : v))
  const data = { train: fromArrays({ x: { data: x, shape: [2] }, y: { data: new Float32Array(rows.length).fill(1), shape: [1] } }, { batchSize: 1 }) }
  const trained = await lastValueFrom(fit(module(optimizer), data, { maxEpochs: 2, precision, logEveryNSteps: 3 }, { backend, signals: quiet }).pipe(trainedModel()))
  const bits = bitsOf(trained.params)
  disposeTree(trained)
  return bits
}

// Needs the loop's side of the device decisions (reading `finiteFlag` with the loss, then `settle`).
describe('fit with device decisions (a cpu backend without host reads)', () => {
  it.each([
    ['16-mixed', () => adam({ lr: 0.05 })],
    ['32-true', () => applyIfFinite(adam({ lr: 0.05 }))],
  ] as [PrecisionName, () => GradientTransform<StateTree>][])("precision '%s': bitwise the parameters of the synchronous run, no leaks", async (precision, optimizer) => {
    const before = tf.memory().numTensors
    const onDevice = await fitBits(device, precision, optimizer())
    expect(onDevice).toEqual(await fitBits(cpu, precision, optimizer()))
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('a window closed at the end of an epoch (a source of unknown length, accumulation) with device decisions', () => {
  /** Two epochs of the rows, 3 batches per optimizer step: each epoch ends with a window of one batch, which steps. */
  const windowBits = async (backend: Backend, precision: PrecisionName, optimizer: GradientTransform<StateTree>) => {
    const x = Float32Array.from(rows.flat(), (v) => (precision === '16-mixed' && !Number.isFinite(v) ? 60 : v))
    const known = fromArrays({ x: { data: x, shape: [2] }, y: { data: new Float32Array(rows.length).fill(1), shape: [1] } }, { batchSize: 1 })
    const data = { train: { numBatches: undefined, open: known.open } }
    const trained = await lastValueFrom(
      fit(module(optimizer), data, { maxEpochs: 2, precision, accumulateGradBatches: 3, logEveryNSteps: 50 }, { backend, signals: quiet }).pipe(trainedModel()),
    )
    const bits = bitsOf(trained)
    disposeTree(trained)
    return bits
  }

  it.each([
    ['16-mixed', () => adam({ lr: 0.05 })],
    ['32-true', () => applyIfFinite(adam({ lr: 0.05 }))],
  ] as [PrecisionName, () => GradientTransform<StateTree>][])("precision '%s': the window's step settles on its flags as on the host, no leaks", async (precision, optimizer) => {
    const before = tf.memory().numTensors
    const onDevice = await windowBits(device, precision, optimizer())
    expect(onDevice).toEqual(await windowBits(cpu, precision, optimizer()))
    expect(tf.memory().numTensors).toBe(before)
  })
})
