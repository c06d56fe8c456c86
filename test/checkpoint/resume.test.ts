import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { loadParams } from '../../src/checkpoint/loadParams.js'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { metrics, nn, optim } from '../../src/index.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit, type RunEnv } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { key } from '../../src/random/key.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import type { XY } from '../support/tiny.js'

let cpu: Backend
let wasm: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  wasm = await useBackend('wasm')
})

const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dropout(0.2), nn.dense({ units: 3 }))
const module = defineModule({
  init: (k) => net.init(k, [4]),
  trainingStep: (model, batch: XY, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    const loss = nn.softmaxCrossEntropy(logits, batch.y)
    return { loss, logs: { 'train/loss': loss, 'train/acc': metrics.accuracy(logits, batch.y) } }
  },
  validationStep: (model, batch: XY, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { 'val/loss': metrics.crossEntropy(logits, batch.y), 'val/acc': metrics.accuracy(logits, batch.y) }
  },
  optimizer: optim.adam({ lr: optim.cosineDecay({ init: 0.05, decaySteps: 40 }) }),
})
const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const data = { train: fromArrays(blobs(44), { batchSize: 8, shuffle: true }), val: fromArrays(blobs(16), { batchSize: 8 }) }
const options: TrainerOptions = { maxEpochs: 4, valCheckInterval: 4, logEveryNSteps: 1, seed: 9, defaultRootDir: '/run' }

/** The full hook set of a real run (they write into the run's file system). */
const hooks = () => [checkpoint({ monitor: 'val/loss', saveTopK: 2, saveLast: true }), earlyStopping({ monitor: 'val/loss', patience: 50 }), csvLogger()] as const

const train = async (backend: Backend, fs: RunEnv['fs'], opts: TrainerOptions, signals = manualSignals(), onEvent: (e: FitEvent) => void = () => undefined) => {
  const [a, b, c] = hooks()
  const model = await lastValueFrom(fit(module, data, opts, { backend, fs, signals }).pipe(tap(onEvent), a, b, c, trainedModel()), { defaultValue: undefined })
  if (model === undefined) return undefined
  const values = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  return values
}

const csvOf = (fs: ReturnType<typeof memoryFileSystem>) => new TextDecoder().decode(fs.files.get('/run/metrics.csv'))

describe.each([
  ['cpu', () => cpu],
  ['wasm', () => wasm],
])('exact resume from `last` on %s', (_name, backendOf) => {
  for (const k of [2, 5, 6, 11, 17]) {
    it(`interrupted after batch ${k}: bitwise-equal parameters and the same logged rows after it`, async () => {
      const backend = backendOf()
      const fullFs = memoryFileSystem()
      const full = await train(backend, fullFs, options)

      const fs = memoryFileSystem()
      const signals = manualSignals()
      let batches = 0
      const first = await train(backend, fs, options, signals, (e) => {
        if (e.type === 'trainStep' && ++batches === k) signals.raise('SIGINT')
      })
      expect(first).toBeDefined()
      const before = tf.memory().numTensors
      const resumed = await train(backend, fs, { ...options, ckptPath: 'last' })
      expect(tf.memory().numTensors).toBe(before)
      expect(resumed).toEqual(full)
      expect(csvOf(fs)).toBe(csvOf(fullFs))
    })
  }
})

describe('checkpoints on disk', () => {
  const fullRun = async () => {
    const fs = memoryFileSystem()
    await train(cpu, fs, options)
    return fs
  }

  it('loadParams loads the best weights for inference, and checks their structure', async () => {
    cpu.activate()
    const fs = await fullRun()
    const like = net.init(key(0), [4]).params
    const model = await loadParams('/run/checkpoints/best', { fs, like })()
    expect(E.isRight(model)).toBe(true)
    if (E.isRight(model)) {
      expect(flattenParams(model.right.params).map((l) => l.path)).toEqual(['dense0/bias', 'dense0/kernel', 'dense2/bias', 'dense2/kernel'])
      disposeTree(model.right)
    }
    const other = nn.sequential(nn.dense({ units: 5 }), nn.dense({ units: 3 })).init(key(0), [4]).params
    const mismatch = await loadParams('/run/checkpoints/best', { fs, like: other })()
    expect(E.isLeft(mismatch) && mismatch.left.tag).toBe('StructureError')
    expect(E.isLeft(mismatch) && mismatch.left.problem).toMatch(
      /was saved from a model of another structure \(2 parameters of this model are missing from it, 2 parameters in it are not in this model, 2 parameters have another shape or dtype; this model has 4, the checkpoint 4\): dense0\/bias: expected \[5\] float32, got \[8\] float32; dense0\/kernel: expected \[4,5\] float32, got \[4,8\] float32; missing dense1\/bias \[3\]; missing dense1\/kernel \[5,3\]; unexpected dense2\/bias \[3\]; unexpected dense2\/kernel \[8,3\]$/,
    )
    disposeTree([like, other])
  })

  it('resuming a model of another structure fails, naming the differences', async () => {
    const fs = await fullRun()
    const wider = { ...module, init: (k: ReturnType<typeof key>) => nn.sequential(nn.dense({ units: 9 }), nn.dense({ units: 3 })).init(k, [4]) }
    const failure = await lastValueFrom(fit(wider, data, { ...options, ckptPath: 'last' }, { backend: cpu, fs })).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/^StructureError: \/run\/checkpoints\/.* was saved from a model of another structure \(.*\): .*dense0\/bias: expected \[9\] float32, got \[8\] float32/)
  })

  const corrupt = async (file: string, change: (bytes: Uint8Array) => Uint8Array) => {
    const fs = await fullRun()
    const last = JSON.parse(new TextDecoder().decode(fs.files.get('/run/checkpoints/last.json'))) as { checkpoint: string }
    const path = `/run/checkpoints/${last.checkpoint}/${file}`
    const bytes = fs.files.get(path) as Uint8Array
    await fs.writeFile(path, change(new Uint8Array(bytes)))()
    const loaded = await loadCheckpoint(fs, '/run/checkpoints/last')()
    return { loaded, path }
  }

  it('a flipped byte in the tensor file is caught, naming the file', async () => {
    const { loaded, path } = await corrupt('tensors.bin', (b) => {
      b[10] = (b[10] as number) ^ 0xff
      return b
    })
    expect(E.isLeft(loaded) && loaded.left.message).toBe(`CheckpointError: ${path} is damaged: its checksum does not match its manifest\n  How to fix: resume from another checkpoint.`)
  })

  it('a truncated tensor file is caught, naming the file', async () => {
    const { loaded, path } = await corrupt('tensors.bin', (b) => b.slice(0, b.length - 7))
    expect(E.isLeft(loaded) && loaded.left.problem).toMatch(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not match its manifest: it has \\d+ bytes, the manifest describes \\d+ \\(\\d+ tensors\\); the file was cut short, or the two files come from different checkpoints$`),
    )
  })

  it('a missing tensor file is a CheckpointError that calls the checkpoint incomplete (not a bare FileError)', async () => {
    const fs = await fullRun()
    const last = JSON.parse(new TextDecoder().decode(fs.files.get('/run/checkpoints/last.json'))) as { checkpoint: string }
    const dir = `/run/checkpoints/${last.checkpoint}`
    await fs.remove(`${dir}/tensors.bin`)()
    const loaded = await loadCheckpoint(fs, '/run/checkpoints/last')()
    expect(E.isLeft(loaded) && loaded.left.tag).toBe('CheckpointError')
    expect(E.isLeft(loaded) && loaded.left.problem).toBe(`the checkpoint at ${dir} is incomplete: its manifest is there, its tensors.bin is missing`)
  })

  it('a flipped byte or a truncation in the manifest is caught, naming the file', async () => {
    const flipped = await corrupt('manifest.json', (b) => {
      const i = b.length - 40
      b[i] = (b[i] as number) === 0x31 ? 0x32 : 0x31
      return b
    })
    expect(E.isLeft(flipped.loaded) && flipped.loaded.left.problem).toMatch(/manifest\.json is damaged: (its content does not match its hash|it is not valid JSON)/)
    expect(E.isLeft(flipped.loaded) && flipped.loaded.left.problem).toContain(flipped.path)
    const cut = await corrupt('manifest.json', (b) => b.slice(0, 100))
    expect(E.isLeft(cut.loaded) && cut.loaded.left.problem).toBe(`${cut.path} is damaged: it is not valid JSON (truncated or overwritten)`)
  })

  it('a weights-only checkpoint loads for inference but cannot resume', async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(module, data, options, { backend: cpu, fs, signals: manualSignals() }).pipe(checkpoint({ saveWeightsOnly: true, saveLast: true })))
    const failure = await lastValueFrom(fit(module, data, { ...options, ckptPath: 'last' }, { backend: cpu, fs })).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/holds weights only and cannot resume training[\s\S]*loadParams/)
    const model = await loadParams('/run/checkpoints/last', { fs })()
    expect(E.isRight(model)).toBe(true)
    if (E.isRight(model)) disposeTree(model.right)
  })

  it("ckptPath 'last' with no checkpoint says where it looked", async () => {
    const failure = await lastValueFrom(fit(module, data, { ...options, ckptPath: 'last' }, { backend: cpu, fs: memoryFileSystem() })).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/^CheckpointError: no checkpoint at \/run\/checkpoints\/last/)
  })
})
