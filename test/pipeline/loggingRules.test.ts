import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { jsonlLogger } from '../../src/hooks/jsonlLogger.js'
import { sgd } from '../../src/optim/aliases.js'
import { fit } from '../../src/pipeline/fit.js'
import { epochLogStep, log, plainEpochNames } from '../../src/pipeline/logs.js'
import { defineModule } from '../../src/pipeline/module.js'
import { quiet, useBackend } from '../support/backend.js'
import { stopWhen } from '../support/hooks.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** y = xW + b, logging its loss per step and per epoch (Lightning's `on_step=True, on_epoch=True`). */
const dual = defineModule({
  init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
  trainingStep: (model, batch: XY) => {
    const loss = tf.mean(tf.squaredDifference(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)) as tf.Scalar
    return { loss, logs: { 'train/loss': log(loss, { onStep: true, onEpoch: true }) } }
  },
  optimizer: sgd({ lr: 0 }),
})

describe("Lightning's logging rules", () => {
  it('pure parts: the epoch row goes under the last step row, dual names are monitored plainly', () => {
    expect([5, 10, 15].map(epochLogStep)).toEqual([4, 9, 14])
    expect(plainEpochNames({ 'a_epoch': 1, 'b_epoch': 2, c: 3 }, { a_step: 0.5 })).toEqual({ a: 1 })
  })

  it("epoch aggregates are written at the step of the epoch's last step row (5 batches an epoch: steps 4 and 9)", async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(dual, { train: tinyData(5, 1).train }, { maxEpochs: 2, logEveryNSteps: 1, defaultRootDir: '/run' }, { backend, fs, signals: quiet }).pipe(csvLogger()))
    const csv = new TextDecoder().decode(fs.files.get('/run/metrics.csv'))
    const rows = csv.trim().split('\n').map((l) => l.split(','))
    const header = rows[0] as string[]
    const epochRows = rows.slice(1).filter((r) => r[header.indexOf('train/loss_epoch')] !== '')
    expect(epochRows.map((r) => [r[header.indexOf('epoch')], r[header.indexOf('step')]])).toEqual([
      ['0', '4'],
      ['1', '9'],
    ])
  })

  it('a value logged per step and per epoch is monitored under its plain name, with its epoch value', async () => {
    const events = await lastValueFrom(
      fit(dual, { train: tinyData(5, 1).train }, { maxEpochs: 10 }, { backend, signals: quiet }).pipe(earlyStopping({ monitor: 'train/loss', patience: 2 }), toArray()),
    )
    const ends = events.filter((e) => e.type === 'epochEnd')
    expect(ends[0]?.type === 'epochEnd' && ends[0].callbackMetrics['train/loss']).toBe(ends[0]?.type === 'epochEnd' && ends[0].metrics['train/loss_epoch'])
    // lr 0: the loss never improves, so early stopping (which must find `train/loss`) stops after 3 epochs
    expect(ends).toHaveLength(3)
  })
})

describe('validation values logged with onStep: true', () => {
  const perBatch = defineModule({
    init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
    trainingStep: (model, batch: XY) => ({ loss: tf.mean(tf.squaredDifference(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)) as tf.Scalar }),
    validationStep: (model, batch: XY) => ({ 'val/err': log(tf.mean(tf.abs(tf.sub(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y))), { onStep: true }) }),
    optimizer: sgd({ lr: 0.1 }),
  })

  it('reach the loggers per validation batch (not during the sanity check), under a count of validation batches that goes on across epochs (kept in the loop state)', async () => {
    const fs = memoryFileSystem()
    const events = await lastValueFrom(
      fit(perBatch, tinyData(4, 3), { maxEpochs: 2, defaultRootDir: '/run' }, { backend, fs, signals: quiet }).pipe(csvLogger(), toArray()),
    )
    const steps = events.filter((e) => e.type === 'validationStep')
    expect(steps.filter((e) => e.type === 'validationStep' && e.sanity).every((e) => e.type === 'validationStep' && Object.keys(e.metrics).length === 0)).toBe(true)
    const csv = new TextDecoder().decode(fs.files.get('/run/metrics.csv')).trim().split('\n')
    const header = (csv[0] as string).split(',')
    const rows = csv.slice(1).map((l) => l.split(','))
    expect(header).toEqual(expect.arrayContaining(['val/err_step', 'val/err_epoch']))
    const perBatchRows = rows.filter((r) => (r[header.indexOf('val/err_step')] ?? '') !== '')
    expect(perBatchRows.map((r) => r[header.indexOf('step')])).toEqual(['0', '1', '2', '3', '4', '5'])
    expect(events.at(-1)?.type === 'fitEnd' && (events.at(-1) as { loop: { valBatchesSeen?: number } }).loop.valBatchesSeen).toBe(6)
  })
})

describe('a stop requested while a training step is handled', () => {
  it("still writes that step's row, as Lightning's should_stop does, in every logger (between logEveryNSteps rows)", async () => {
    const fs = memoryFileSystem()
    // logEveryNSteps 50: no row would be written in this short run but for the stop at the 3rd step.
    await lastValueFrom(
      fit(dual, { train: tinyData(5, 1).train }, { maxEpochs: 3, defaultRootDir: '/run' }, { backend, fs, signals: quiet }).pipe(
        stopWhen((e) => e.type === 'trainStep' && e.globalStep === 3),
        csvLogger(),
        jsonlLogger(),
      ),
    )
    const csv = new TextDecoder().decode(fs.files.get('/run/metrics.csv')).trim().split('\n')
    const header = (csv[0] as string).split(',')
    const stepRows = csv.slice(1).map((l) => l.split(',')).filter((r) => (r[header.indexOf('train/loss_step')] ?? '') !== '')
    expect(stepRows.map((r) => r[header.indexOf('step')])).toEqual(['2'])
    const jsonl = new TextDecoder().decode(fs.files.get('/run/metrics.jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { step: number; metrics: Record<string, number> })
    expect(jsonl.filter((r) => r.metrics['train/loss_step'] !== undefined).map((r) => r.step)).toEqual([2])
  })

  it('without a stop, the held row is dropped (logEveryNSteps rules)', async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(dual, { train: tinyData(5, 1).train }, { maxEpochs: 1, defaultRootDir: '/run' }, { backend, fs, signals: quiet }).pipe(csvLogger()))
    const csv = new TextDecoder().decode(fs.files.get('/run/metrics.csv')).trim().split('\n')
    expect(csv[0]?.split(',')).not.toContain('train/loss_step')
  })
})
