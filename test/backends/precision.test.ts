import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { castHalf } from '../../src/backends/castHalf.js'
import { roundBfloat16, roundFloat16 } from '../../src/backends/halfFloat.js'
import { defaultLossScaler, nextLossScale, type PrecisionName, resolvePrecision } from '../../src/backends/precision.js'
import type { LoopState } from '../../src/core/loopState.js'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { encodeCheckpoint, writeCheckpoint } from '../../src/checkpoint/writeCheckpoint.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { layersModelArtifacts } from '../../src/export/layersModel.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { nn, optim } from '../../src/index.js'
import type { FitEnd, FitEvent } from '../../src/pipeline/events.js'
import { workWhen } from '../support/hooks.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { parseTrainerOptions, type TrainerOptions } from '../../src/pipeline/options.js'
import { key } from '../../src/random/key.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import type { XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const valuesOf = (t: tf.Tensor) => Array.from(t.dataSync())

describe('castHalf', () => {
  it('rounds values to the format, and the gradient that flows back through it too', () => {
    const x = tf.tensor([1 + 2 ** -11, 0.1, 70000, 2 ** -26])
    expect(valuesOf(tf.tidy(() => castHalf(x, 'float16')))).toEqual([1, roundFloat16(Math.fround(0.1)), Number.POSITIVE_INFINITY, 0])
    expect(valuesOf(tf.tidy(() => castHalf(x, 'bfloat16')))).toEqual([1, roundBfloat16(Math.fround(0.1)), 70144, roundBfloat16(2 ** -26)])
    // d/dx sum(cast(x) * c) = cast(c): 1e5 overflows float16, 2^-26 underflows it
    const c = tf.tensor([1 + 2 ** -11, 1e5, 2 ** -26, 3])
    const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(castHalf(v, 'float16'), c)))(x))
    expect(valuesOf(g)).toEqual([1, Number.POSITIVE_INFINITY, 0, 3])
    tf.dispose([x, c, g])
  })

  it('passes int32 tensors through and leaks nothing', () => {
    const i = tf.tensor([1, 2], undefined, 'int32')
    expect(castHalf(i, 'float16')).toBe(i)
    const x = tf.randomNormal([8, 8])
    const before = tf.memory().numTensors
    const g = tf.grad((v: tf.Tensor) => tf.sum(castHalf(v, 'bfloat16')))(x)
    expect(tf.memory().numTensors).toBe(before + 1)
    tf.dispose([i, x, g])
  })
})

describe('the precision option', () => {
  const resolved = (p: unknown) => {
    const o = parseTrainerOptions({ precision: p })
    return E.isRight(o) ? o.right.precision : o.left.message
  }

  it("takes Lightning's names and aliases", () => {
    expect(['32-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true'].map(resolved)).toEqual(['32-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true'])
    expect([16, '16', 'bf16', 32, '32'].map(resolved)).toEqual(['16-mixed', '16-mixed', 'bf16-mixed', '32-true', '32-true'])
    expect(resolved(undefined)).toBe('32-true')
  })

  it("refuses '64-true' (tfjs has no float64) and unknown names, listing the valid ones", () => {
    for (const p of ['64-true', '64', 64]) expect(resolved(p)).toMatch(/no float64 dtype.*\n.*'32-true'/s)
    expect(resolved('fp16')).toMatch(/wrong type: 'fp16'.*'32-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true'/s)
  })

  it('checks the loss scaler settings', () => {
    expect(resolved(16)).toBe('16-mixed')
    const bad = parseTrainerOptions({ lossScaler: { backoffFactor: 2 } })
    expect(E.isLeft(bad) && bad.left.message).toMatch(/backoffFactor is in \(0, 1\)/)
    const good = parseTrainerOptions({ lossScaler: { growthInterval: 5 } })
    expect(E.isRight(good) && good.right.lossScaler).toEqual({ ...defaultLossScaler, growthInterval: 5 })
  })
})

describe('the dynamic loss scaler rule', () => {
  const next = nextLossScale({ initScale: 8, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3 })
  it('halves and resets on overflow, doubles after growthInterval clean steps', () => {
    const seen = [true, true, false, true, true, true, true].reduce<{ scale: number; goodSteps: number }[]>(
      (acc, finite) => [...acc, next(acc.at(-1) ?? { scale: 8, goodSteps: 0 }, finite)],
      [],
    )
    expect(seen.map((s) => s.scale)).toEqual([8, 8, 4, 4, 4, 8, 8])
    expect(seen.map((s) => s.goodSteps)).toEqual([1, 2, 0, 1, 2, 0, 1])
  })
  it("defaults to PyTorch GradScaler's settings", () => {
    expect(defaultLossScaler).toEqual({ initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 })
    expect(resolvePrecision('16-mixed').initScale()).toEqual({ scale: 65536, goodSteps: 0 })
    expect(resolvePrecision('bf16-mixed').initScale().scale).toBe(1)
  })
})

// A small classifier whose loss is blown up at chosen global steps (an injected overflow).
const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dense({ units: 3 }))
const overflowAt = new Set([4, 5])
const module = defineModule({
  init: (k) => net.init(k, [4]),
  trainingStep: (model, batch: XY, ctx) => {
    const loss = nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y)
    return { loss: overflowAt.has(ctx.globalStep) ? (tf.mul(loss, 1e6) as tf.Scalar) : loss, logs: { 'train/loss': loss } }
  },
  optimizer: optim.adam({ lr: 0.01 }),
})
const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const data = { train: fromArrays(blobs(48), { batchSize: 8, shuffle: true }) }
const record = (events: FitEvent[]) => tap((e: FitEvent) => events.push(e))
const scaled: TrainerOptions = { maxEpochs: 3, precision: '16-mixed', lossScaler: { initScale: 1024, growthInterval: 3 }, seed: 3 }

const paramsOf = async (run: ReturnType<typeof fit>) => {
  const model = await lastValueFrom(run.pipe(trainedModel()))
  const values = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  return values
}


/**
 * Runs `options` until `afterBatches` training batches, as if interrupted by SIGINT, and writes
 * the `fitEnd` state as a checkpoint `/ckpt/last` recorded under `precisionName`.
 */
const interruptAndSave = async (options: TrainerOptions, afterBatches: number, precisionName: PrecisionName) => {
  const fs = memoryFileSystem()
  const signals = manualSignals()
  let batches = 0
  let loop: LoopState | undefined
  const interrupt = tap((e: FitEvent) => {
    if (e.type === 'trainStep' && ++batches === afterBatches) signals.raise('SIGINT')
  })
  const save = workWhen(
    (e) => e.type === 'fitEnd',
    (e) => {
      const end = e as FitEnd
      loop = end.loop
      const files = encodeCheckpoint({ state: end.state, weightsOnly: false, loop: end.loop, hookStates: {}, options: null, precision: { name: precisionName, storageDtype: 'float32' }, meta: {}, createdAt: 'now' })
      return writeCheckpoint(fs, '/ckpt', 'last', files)()
    },
  )
  await lastValueFrom(fit(module, data, options, { backend, signals }).pipe(interrupt, save))
  return { fs, loop }
}

describe("'16-mixed' training", () => {
  it('skips the steps whose gradients overflow, backs the scale off, and grows it back', async () => {
    const events: FitEvent[] = []
    await paramsOf(fit(module, data, scaled, { backend, signals: manualSignals() }).pipe(record(events)))
    const steps = events.flatMap((e) => (e.type === 'trainStep' ? [e] : []))
    expect(steps).toHaveLength(18)
    expect(steps.map((s) => s.stepSkipped)).toEqual(steps.map((s) => overflowAt.has(s.globalStep - 1)))
    // two overflows in a row: 1024 → 512 → 256; then x2 after every 3 clean steps
    expect(steps.map((s) => s.loop.lossScale.scale)).toEqual([1024, 1024, 2048, 2048, 1024, 512, 512, 512, 1024, 1024, 1024, 2048, 2048, 2048, 4096, 4096, 4096, 8192])
    // a skipped step leaves the parameters and the optimizer state as they were
    const skipped = steps.findIndex((s) => s.stepSkipped)
    const [before, after] = [steps[skipped - 1], steps[skipped]] as [FitEvent & { type: 'trainStep' }, FitEvent & { type: 'trainStep' }]
    expect(flattenParams(after.state.params).map((l) => l.tensor.id)).toEqual(flattenParams(before.state.params).map((l) => l.tensor.id))
    expect(Number.isFinite(steps.at(-1)?.loss)).toBe(true)
  })

  it("a '32-true' checkpoint resumed under '16-mixed' starts the loss scaler afresh", async () => {
    const { fs } = await interruptAndSave({ ...scaled, precision: '32-true' }, 3, '32-true')
    const resumed: FitEvent[] = []
    await paramsOf(fit(module, data, { ...scaled, ckptPath: '/ckpt/last' }, { backend, fs, signals: manualSignals() }).pipe(record(resumed)))
    const first = resumed.find((e) => e.type === 'trainStep')
    expect(first?.type === 'trainStep' && first.loop.lossScale.scale).toBe(1024)
  })

  it('resumes from a checkpoint with its loss-scale state, bitwise', async () => {
    const full: FitEvent[] = []
    const expected = await paramsOf(fit(module, data, scaled, { backend, signals: manualSignals() }).pipe(record(full)))
    const { fs, loop } = await interruptAndSave(scaled, 7, '16-mixed')
    expect(loop?.lossScale).toEqual({ scale: 512, goodSteps: 1 })
    const resumed: FitEvent[] = []
    const values = await paramsOf(fit(module, data, { ...scaled, ckptPath: '/ckpt/last' }, { backend, fs, signals: manualSignals() }).pipe(record(resumed)))
    expect(values).toEqual(expected)
    const scales = (events: FitEvent[]) => events.flatMap((e) => (e.type === 'trainStep' ? [e.loop.lossScale] : []))
    expect(scales(resumed)).toEqual(scales(full).slice(7))
  })
})

describe("'-true' policies and half-precision storage", () => {
  const plain = defineModule({ ...module, trainingStep: (model, batch: XY, ctx) => ({ loss: nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y) }) })

  it.each([
    ['16-true', roundFloat16],
    ['bf16-true', roundBfloat16],
  ] as const)('%s keeps every parameter and optimizer value representable in the format', async (precision, round) => {
    // The event's state is borrowed: read it while the event is current.
    let values: number[][] = []
    const read = tap((e: FitEvent) => {
      if (e.type !== 'trainStep') return
      const leaves = [...flattenParams(e.state.params), ...flattenParams(e.state.optState as never)].filter((l) => l.tensor.dtype === 'float32')
      values = leaves.map((l) => Array.from(l.tensor.dataSync()))
    })
    await lastValueFrom(fit(plain, data, { maxEpochs: 1, precision, seed: 1 }, { backend, signals: manualSignals() }).pipe(read))
    expect(values.length).toBeGreaterThan(4)
    expect(values.flat().filter((v) => round(v) !== v)).toEqual([])
    expect(new Set(values.flat()).size).toBeGreaterThan(50)
  })

  it("a 'bf16-true' run's checkpoints store bfloat16 by default, and resume from them bitwise", async () => {
    const fs = memoryFileSystem()
    const options: TrainerOptions = { maxEpochs: 2, precision: 'bf16-true', seed: 4, defaultRootDir: '/run' }
    await lastValueFrom(fit(plain, data, options, { backend, fs, signals: manualSignals() }).pipe(checkpoint({ saveLast: true })))
    const loaded = await loadCheckpoint(fs, '/run/checkpoints/last')()
    if (E.isLeft(loaded)) throw loaded.left
    expect(loaded.right.manifest.precision).toEqual({ name: 'bf16-true', storageDtype: 'bfloat16' })
    expect(new Set(loaded.right.manifest.tensors.map((t) => t.storage ?? t.dtype))).toEqual(new Set(['bfloat16']))
    disposeTree(loaded.right.state)
    const full = await paramsOf(fit(plain, data, { ...options, maxEpochs: 3 }, { backend, signals: manualSignals() }))
    const resumed = await paramsOf(fit(plain, data, { ...options, maxEpochs: 3, ckptPath: '/run/checkpoints/last' }, { backend, fs, signals: manualSignals() }))
    expect(resumed).toEqual(full)
  })

  it('a float16 checkpoint is half the size of a float32 one and loads back rounded to float16', async () => {
    const model = net.init(key(7), [4])
    const optState = optim.adam({ lr: 0.1 }).init(model.params)
    const state = { params: model.params, state: model.state, optState, gradAccumulator: null }
    const content = (storageDtype: 'float32' | 'float16', weightsOnly = true) =>
      encodeCheckpoint({ state, weightsOnly, loop: null, hookStates: {}, options: null, precision: { name: '32-true', storageDtype }, meta: {}, createdAt: 'now' })
    // With the optimizer state: the weights in float16, Adam's moments kept in float32.
    const full = JSON.parse(content('float16', false).manifest).content.tensors as { storage?: string }[]
    expect(full.map((t) => t.storage ?? 'float32')).toEqual([...Array(4).fill('float16'), ...Array(8).fill('float32')])
    const [f32, f16] = [content('float32'), content('float16')]
    // 8-byte alignment of each tensor's bytes adds at most a few bytes per tensor
    expect(f16.tensors.byteLength / f32.tensors.byteLength).toBeCloseTo(0.5, 1)
    expect(f16.tensors.byteLength).toBeLessThanOrEqual(f32.tensors.byteLength / 2 + 8 * 16)
    const fs = memoryFileSystem()
    await writeCheckpoint(fs, '/c', 'half', f16)()
    const read = await loadCheckpoint(fs, '/c/half')()
    if (E.isLeft(read)) throw read.left
    const loaded = flattenParams(read.right.state.params)
    flattenParams(model.params).forEach((l, i) => {
      const back = loaded[i]?.tensor.dataSync() as Float32Array
      expect(Array.from(back)).toEqual(Array.from(l.tensor.dataSync(), (v) => roundFloat16(v)))
    })
    disposeTree([state, read.right.state])
  })

  it('a LayersModel exported with float16 weights loads in tfjs-layers with the rounded weights', async () => {
    const model = net.init(key(9), [4])
    const [f32, f16] = await Promise.all([layersModelArtifacts(net, [4], model)(), layersModelArtifacts(net, [4], model, { weightDtype: 'float16' })()])
    if (E.isLeft(f32) || E.isLeft(f16)) throw new Error('export failed')
    expect(f16.right.weightData.byteLength).toBe(f32.right.weightData.byteLength / 2)
    expect(f16.right.weightSpecs[0]?.quantization).toEqual({ dtype: 'float16' })
    const [full, half] = await Promise.all([tfl.loadLayersModel(tf.io.fromMemory(f32.right)), tfl.loadLayersModel(tf.io.fromMemory(f16.right))])
    const weights = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()))
    expect(weights(half)).toEqual(weights(full).map((w) => w.map((v) => roundFloat16(v))))
    expect(weights(half).flat().some((v, i) => v !== weights(full).flat()[i])).toBe(true)
    full.dispose()
    half.dispose()
    disposeTree(model)
  })
})

describe('the policies as records', () => {
  it.each(['16-mixed', 'bf16-mixed', '16-true', 'bf16-true'] as PrecisionName[])('%s: storage and scaling', (name) => {
    const p = resolvePrecision(name)
    expect(p.storageDtype).toBe(name.endsWith('-true') ? (name.startsWith('bf16') ? 'bfloat16' : 'float16') : 'float32')
    expect(p.skipsNonFinite).toBe(name === '16-mixed')
  })
})
