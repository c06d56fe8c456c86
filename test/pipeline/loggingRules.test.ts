import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { sgd } from '../../src/optim/aliases.js'
import { fit } from '../../src/pipeline/fit.js'
import { epochLogStep, log, plainEpochNames } from '../../src/pipeline/logs.js'
import { defineModule } from '../../src/pipeline/module.js'
import { quiet, useBackend } from '../support/backend.js'
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
