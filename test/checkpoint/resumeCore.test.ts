import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { metrics, nn, optim } from '../../src/index.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { useBackend } from '../support/backend.js'
import { saveLoopAsLast } from '../support/resumeRun.js'
import type { XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const net = nn.sequential(nn.dense({ units: 6, activation: 'relu' }), nn.batchNorm(), nn.dropout(0.2), nn.dense({ units: 3 }))
const module = defineModule({
  init: (k) => net.init(k, [4]),
  trainingStep: (model, batch: XY, ctx) => {
    const out = net.apply(model, batch.x, ctx)
    const loss = nn.softmaxCrossEntropy(out.y, batch.y)
    return { loss, state: out.state, logs: { 'train/loss': loss, 'train/acc': metrics.accuracy(out.y, batch.y) } }
  },
  validationStep: (model, batch: XY, ctx) => ({ 'val/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.chain(optim.clipByGlobalNorm(1), optim.adamw({ lr: 0.02 }), optim.reduceOnPlateau({ monitor: 'val/acc', mode: 'max', patience: 0 })),
})
const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1)), shape: [4] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
const data = { train: fromArrays(blobs(50), { batchSize: 8, shuffle: true }), val: fromArrays(blobs(20), { batchSize: 8 }) }

const record = (events: FitEvent[]) => tap((e: FitEvent) => events.push(e))
const stepRows = (events: FitEvent[]) =>
  events.flatMap((e) => (e.type === 'trainStep' ? [[e.epoch, e.batchIdx, e.globalStep, e.loss, JSON.stringify(e.metrics)].join(' ')] : e.type === 'validationEnd' ? [`val ${e.globalStep} ${JSON.stringify(e.metrics)}`] : e.type === 'epochEnd' ? [`epoch ${e.epoch} ${JSON.stringify(e.callbackMetrics)}`] : []))

const paramsOf = async (run: ReturnType<typeof fit>) => {
  const model = await lastValueFrom(run.pipe(trainedModel()))
  const values = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  const stats = flattenParams(model.state).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  return { values, stats }
}

describe('resuming from an interrupted run', () => {
  const options: TrainerOptions = { maxEpochs: 3, accumulateGradBatches: 2, valCheckInterval: 3, seed: 5 }
  const cases: { name: string; at: (e: FitEvent, n: { batches: number; vals: number; epochs: number }) => boolean }[] = [
    ...[1, 3, 6, 7, 14].map((k) => ({ name: `after training batch ${k}`, at: (e: FitEvent, n: { batches: number }) => e.type === 'trainStep' && n.batches === k })),
    { name: 'at the second validation (mid-epoch)', at: (e, n) => e.type === 'validationEnd' && n.vals === 2 },
    { name: 'at the end of the first epoch', at: (e, n) => e.type === 'epochEnd' && n.epochs === 1 },
  ]
  for (const c of cases) {
    it(`interrupted ${c.name}, resumed: bitwise the same parameters and the same logs after it`, async () => {
      const fullEvents: FitEvent[] = []
      const full = await paramsOf(fit(module, data, options, { backend, signals: manualSignals() }).pipe(record(fullEvents)))

      const fs = memoryFileSystem()
      const signals = manualSignals()
      const firstEvents: FitEvent[] = []
      const n = { batches: 0, vals: 0, epochs: 0 }
      let raised = false
      const interrupt = tap((e: FitEvent) => {
        if (e.type === 'trainStep') n.batches++
        if (e.type === 'validationEnd') n.vals++
        if (e.type === 'epochEnd') n.epochs++
        if (!raised && c.at(e, n)) {
          raised = true
          signals.raise('SIGINT')
        }
        if (e.type === 'fitEnd') expect(e.reason).toBe('interrupted')
      })
      // The loop's own state at the interruption, saved as a checkpoint (the run waits for the write).
      const save = saveLoopAsLast(fs)
      await lastValueFrom(fit(module, data, options, { backend, signals }).pipe(record(firstEvents), interrupt, save))
      const before = tf.memory().numTensors
      const resumedEvents: FitEvent[] = []
      const resumed = await paramsOf(fit(module, data, { ...options, ckptPath: '/ckpt/last' }, { backend, fs, signals: manualSignals() }).pipe(record(resumedEvents)))
      expect(tf.memory().numTensors).toBe(before)
      expect(resumed.values).toEqual(full.values)
      expect(resumed.stats).toEqual(full.stats)
      // what the resumed run logs is what the full run logged after the interruption
      const fullRows = stepRows(fullEvents)
      const firstRows = stepRows(firstEvents)
      expect(stepRows(resumedEvents)).toEqual(fullRows.slice(firstRows.length))
      expect(resumedEvents[0]?.type === 'fitStart' && resumedEvents[0].resumed?.from).toBe('/ckpt/last')
    })
  }
})
