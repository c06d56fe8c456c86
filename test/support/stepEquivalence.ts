/**
 * The exported `trainStep`, driven by hand over the batches of a `fit` run (same seed, same batch
 * order, same keys), against `fit` itself: the same parameters, model state and optimizer state,
 * bit for bit. Shared by the cpu and wasm test files (tfjs has one engine per process).
 */
import * as tf from '@tensorflow/tfjs-core'
import { isObservable, tap } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { tidy } from '../../src/index.js'
import type { FitEvent, TrainState } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { trainStep } from '../../src/pipeline/step.js'
import { foldIn, key, split } from '../../src/random/key.js'
import { cloneTree, disposeTree, releaseGeneration } from '../../src/tree/tree.js'
import { quiet } from './backend.js'
import { movingPartsClassifier } from './classifier.js'
import { runSync } from './run.js'

// Every moving part: dropout (the step key), batch norm (model state), shuffling (the pass key).
const classifier = movingPartsClassifier({ dropout: 0.3, lr: 0.05 })

const numBatches = 7
const batchSize = 6
const source = () =>
  fromArrays(
    {
      x: { data: Float32Array.from({ length: numBatches * batchSize * 4 }, (_, i) => Math.sin(i * 0.37) * 3 + (Math.floor(i / 4) % 3)), shape: [4] },
      y: { data: Int32Array.from({ length: numBatches * batchSize }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
    },
    { batchSize, shuffle: true },
  )

const seed = 11
const maxEpochs = 2

type Options = Pick<TrainerOptions, 'precision' | 'accumulateGradBatches' | 'gradientClipVal' | 'gradientClipAlgorithm'> & { readonly lossScaler?: { readonly initScale: number; readonly growthInterval: number } }

interface Run {
  readonly state: TrainState
  readonly losses: number[]
  readonly skipped: boolean[]
}

/** `fit`'s run: its final state (copied at `fitEnd`), its losses and skipped steps. */
const fitRun = (backend: Backend, o: Options): Run => {
  let state: TrainState | undefined
  const events = runSync(
    fit(classifier, { train: source() }, { maxEpochs, seed, numSanityValSteps: 0, logEveryNSteps: 1, ...o }, { backend, signals: quiet }).pipe(
      tap((e: FitEvent) => {
        if (e.type === 'fitEnd') state = cloneTree(e.state)
      }),
    ),
  )
  const steps = events.flatMap((e) => (e.type === 'trainStep' ? [e] : []))
  if (state === undefined) throw new Error('no fitEnd')
  return { state, losses: steps.map((e) => e.loss), skipped: steps.map((e) => e.stepSkipped) }
}

/** The exported step over the same batches: fit's keys (`split(key(seed), 4)`), pass order and accumulation windows. */
const handRun = (o: Options): Run => {
  const [initKey, shuffleKey, stepKey] = split(key(seed), 4)
  const step = trainStep(classifier, classifier.optimizer, o)
  const k = step.accumulateGradBatches
  let state: TrainState = tidy(() => step.init(classifier.init(initKey)))
  let lossScale = step.precision.initScale()
  let globalStep = 0
  const losses: number[] = []
  const skipped: boolean[] = []
  const data = source()
  for (let epoch = 0; epoch < maxEpochs; epoch++) {
    const pass = data.open({ key: foldIn(shuffleKey, epoch), noShuffle: false, skipBatches: 0, epoch })
    for (let batchIdx = 0; batchIdx < numBatches; batchIdx++) {
      const pulled = pass.next()
      if (isObservable(pulled) || pulled.done === true) throw new Error('the source should answer synchronously')
      const batch = pulled.value
      // Lightning's windows: every k-th batch, and the epoch's last.
      const optimizerStep = (batchIdx + 1) % k === 0 || batchIdx === numBatches - 1
      const ctx = { stage: 'train' as const, training: true, key: foldIn(foldIn(stepKey, epoch), batchIdx), epoch, batchIdx, globalStep, lossScale, optimizerStep }
      const before = state
      const out = tidy(() => step(before, batch, ctx))
      losses.push(out.loss.dataSync()[0] as number)
      skipped.push(!out.gradsFinite)
      releaseGeneration(before, out.state)
      disposeTree([out.loss, out.logs, batch])
      state = out.state
      lossScale = out.lossScale
      if (out.stepped) globalStep++
    }
    pass.close()
  }
  return { state, losses, skipped }
}

/** Every tensor as its raw bits (so -0, NaN payloads and the last ulp count), every other leaf as it is. */
const bits = (value: unknown): unknown => {
  if (value instanceof tf.Tensor) {
    const data = value.dataSync()
    return { dtype: value.dtype, shape: value.shape, bits: Array.from(data instanceof Float32Array ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data) }
  }
  if (Array.isArray(value)) return value.map(bits)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bits(v)]))
  return value
}

const cases: readonly [string, Options][] = [
  ["precision '32-true'", { precision: '32-true' }],
  ["precision '16-mixed' (a loss scale that overflows at first: skipped steps, then growth)", { precision: '16-mixed', lossScaler: { initScale: 2 ** 24, growthInterval: 2 } }],
  ['accumulateGradBatches: 3 (7 batches: the last window has one batch)', { accumulateGradBatches: 3 }],
  ['gradientClipVal: 0.05 (by norm)', { gradientClipVal: 0.05 }],
  ["gradientClipVal: 0.02, gradientClipAlgorithm: 'value'", { gradientClipVal: 0.02, gradientClipAlgorithm: 'value' }],
  ["all at once: '16-mixed', accumulateGradBatches: 3, gradientClipVal: 0.05", { precision: '16-mixed', accumulateGradBatches: 3, gradientClipVal: 0.05 }],
  ["precision 'bf16-true' (the state stored rounded)", { precision: 'bf16-true' }],
]

/** The suite, on the backend `backend()` answers (initialised by the calling file). */
export const stepEquivalence = (backend: () => Backend) =>
  describe(`the exported trainStep is the step fit runs (${'bitwise'})`, () => {
    for (const [name, o] of cases)
      it(`${name}: the same parameters, model state and optimizer state, bit for bit, and the same losses`, () => {
        const before = tf.memory().numTensors
        const fitted = fitRun(backend(), o)
        const driven = handRun(o)
        expect(bits(driven.state)).toEqual(bits(fitted.state))
        expect(driven.losses).toEqual(fitted.losses)
        expect(driven.skipped).toEqual(fitted.skipped)
        if (o.lossScaler !== undefined) expect(fitted.skipped.some((s) => s)).toBe(true)
        disposeTree([fitted.state, driven.state])
        expect(tf.memory().numTensors).toBe(before)
      })
  })
