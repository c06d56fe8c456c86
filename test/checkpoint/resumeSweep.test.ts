import * as tf from '@tensorflow/tfjs-core'
import * as tfdata from '@tensorflow/tfjs-data'
import { lastValueFrom, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import type { DataModule } from '../../src/data/dataModule.js'
import { fromDataset } from '../../src/data/datasetSource.js'
import { manualClock } from '../../src/effects/clock.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { jsonlLogger } from '../../src/hooks/jsonlLogger.js'
import { lrMonitor } from '../../src/hooks/lrMonitor.js'
import { timer } from '../../src/hooks/timer.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { metrics, nn, optim } from '../../src/index.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import type { XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dropout(0.2), nn.dense({ units: 3 }))
const module = (optimizer = optim.adam({ lr: optim.cosineDecay({ init: 0.05, decaySteps: 40 }) })) =>
  defineModule({
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
    optimizer,
  })
const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const arrays = (): DataModule<XY> => ({ train: fromArrays(blobs(20), { batchSize: 4, shuffle: true }), val: fromArrays(blobs(8), { batchSize: 4 }) })

/** The hooks of one run, made anew for each (they write into the run's file system). */
type Hooks = () => MonoTypeOperatorFunction<FitEvent>[]
interface Run {
  readonly values: number[][]
  readonly events: FitEvent[]
}

const rowsOf = (events: readonly FitEvent[]): string[] =>
  events.flatMap((e) =>
    e.type === 'trainStep'
      ? [`T ${e.epoch}:${e.batchIdx} g${e.globalStep} ${e.loss} ${JSON.stringify(e.metrics)}`]
      : e.type === 'validationEnd'
        ? [`V ${e.epoch}:${e.batchIdx} g${e.globalStep} ${JSON.stringify(e.metrics)}`]
        : e.type === 'epochEnd'
          ? [`E ${e.epoch} g${e.globalStep} ${JSON.stringify(e.callbackMetrics)}`]
          : [],
  )

const train = async (data: () => DataModule<XY>, options: TrainerOptions, fs: MemoryFileSystem, hooks: Hooks, opts: { optimizer?: ReturnType<typeof optim.adam>; interruptAt?: number; clock?: () => ReturnType<typeof manualClock> } = {}): Promise<Run> => {
  const signals = manualSignals()
  const clock = opts.clock?.()
  const events: FitEvent[] = []
  let run: Observable<FitEvent> = fit(module(opts.optimizer), data(), options, { backend, fs, signals, ...(clock !== undefined && { clock }) }).pipe(tap((e) => events.push(e)))
  for (const h of hooks()) run = run.pipe(h)
  run = run.pipe(
    tap((e) => {
      if (e.type === 'trainStep') clock?.advance(1000)
      if (events.length - 1 === opts.interruptAt) signals.raise('SIGINT')
    }),
  )
  const model = await lastValueFrom(run.pipe(trainedModel()))
  const values = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  return { values, events }
}

const text = (fs: MemoryFileSystem, path: string) => {
  const b = fs.files.get(path)
  return b === undefined ? undefined : new TextDecoder().decode(b).replace(/"time":\d+/g, '')
}

/**
 * Interrupts a run at every step, validation and epoch end in turn, resumes it from `last`, and
 * checks the result against the uninterrupted run: parameters bitwise, the events after the
 * interruption, the CSV and JSONL logs, and the tensor count.
 */
const sweep = async (data: () => DataModule<XY>, options: TrainerOptions, hooks: Hooks, clock?: () => ReturnType<typeof manualClock>, minPoints = 10) => {
  const fullFs = memoryFileSystem()
  const full = await train(data, options, fullFs, hooks, { ...(clock !== undefined && { clock }) })
  const points = full.events.flatMap((e, i) => (e.type === 'trainStep' || e.type === 'validationEnd' || e.type === 'epochEnd' ? [i] : []))
  const mismatches: string[] = []
  for (const at of points) {
    const fs = memoryFileSystem()
    const first = await train(data, options, fs, hooks, { interruptAt: at, ...(clock !== undefined && { clock }) })
    const before = tf.memory().numTensors
    const resumed = await train(data, { ...options, ckptPath: 'last' }, fs, hooks, { ...(clock !== undefined && { clock }) })
    const e = full.events[at] as FitEvent
    const where = `${e.type} #${at}`
    const expected = rowsOf(full.events).slice(rowsOf(first.events).length)
    if (JSON.stringify(resumed.values) !== JSON.stringify(full.values)) mismatches.push(`${where}: parameters`)
    else if (JSON.stringify(rowsOf(resumed.events)) !== JSON.stringify(expected)) mismatches.push(`${where}: events`)
    else if (text(fs, '/run/metrics.csv') !== text(fullFs, '/run/metrics.csv')) mismatches.push(`${where}: metrics.csv`)
    else if (text(fs, '/run/metrics.jsonl') !== text(fullFs, '/run/metrics.jsonl')) mismatches.push(`${where}: metrics.jsonl`)
    if (tf.memory().numTensors !== before) mismatches.push(`${where}: leak`)
  }
  expect(points.length).toBeGreaterThanOrEqual(minPoints)
  expect(mismatches).toEqual([])
}

const logs = (): MonoTypeOperatorFunction<FitEvent>[] => [csvLogger(), jsonlLogger()]

describe('resume matches the uninterrupted run wherever it is interrupted', () => {
  it('accumulation, several validations per epoch, early stopping that fires, an epoch-level learning-rate log', async () => {
    await sweep(arrays, { maxEpochs: 4, accumulateGradBatches: 2, valCheckInterval: 2, logEveryNSteps: 1, seed: 3, defaultRootDir: '/run' }, () => [
      lrMonitor({ loggingInterval: 'epoch' }),
      checkpoint({ monitor: 'val/loss', saveTopK: 2, saveLast: true }),
      earlyStopping({ monitor: 'val/acc', mode: 'max', patience: 2 }),
      ...logs(),
    ])
  }, 120_000)

  it('maxSteps reached at a validation in the middle of an epoch', async () => {
    await sweep(arrays, { maxSteps: 6, valCheckInterval: 3, logEveryNSteps: 1, seed: 3, defaultRootDir: '/run' }, () => [checkpoint({ saveLast: true }), ...logs()], undefined, 8)
  }, 60_000)

  it('a shuffled tf.data source of unknown length (validated when it runs out)', async () => {
    const examples = Array.from({ length: 18 }, (_, i) => ({ x: [Math.sin(i), Math.cos(i), (i % 3) - 1, i / 18], y: i % 3 }))
    // Each run builds its dataset anew, as a new process would (tf.data's shuffle keeps state in the dataset).
    const dataset = () =>
      tfdata
        .array(examples)
        .shuffle(18, '42')
        .batch(4)
        .map((b) => {
          const { x, y } = b as { x: tf.Tensor; y: tf.Tensor }
          return { x, y: tf.cast(y, 'int32') }
        })
    await sweep(() => ({ train: fromDataset(dataset()) as unknown as DataModule<XY>['train'], val: arrays().val }), { maxEpochs: 3, logEveryNSteps: 1, seed: 3, defaultRootDir: '/run' }, () => [checkpoint({ saveLast: true }), ...logs()])
  }, 60_000)

  it('a timer that stops the run (its elapsed time is carried over)', async () => {
    await sweep(arrays, { maxEpochs: 6, logEveryNSteps: 1, seed: 3, defaultRootDir: '/run' }, () => [timer({ maxTime: 12_000 }), checkpoint({ saveLast: true }), ...logs()], () => manualClock(0))
  }, 60_000)
})

describe('resuming with another optimizer', () => {
  it('is a StructureError at once, naming the difference', async () => {
    const fs = memoryFileSystem()
    await train(arrays, { maxEpochs: 2, defaultRootDir: '/run' }, fs, () => [checkpoint({ saveLast: true })])
    const failure = await train(arrays, { maxEpochs: 3, defaultRootDir: '/run', ckptPath: 'last' }, fs, () => [], { optimizer: optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 0.1 })) as never }).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/^StructureError: \/run\/checkpoints\/.* holds the state of another optimizer: optimizer state/)
  })
})
