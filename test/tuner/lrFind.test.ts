import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { metrics, nn, optim } from '../../src/index.js'
import type { Model } from '../../src/nn/layer.js'
import type { Schedule } from '../../src/optim/transform.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { LR_FINDER_FILE } from '../../src/report/readRun.js'
import { LR_FINDER_CSV, LR_FINDER_JSON, lrFind } from '../../src/tuner/lrFind.js'
import { sweepSchedule } from '../../src/tuner/lrFinderCurve.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'
import { failureOf, runSync } from '../support/run.js'
import type { XY } from '../support/tiny.js'

let backend: Backend
let env: { readonly backend: Backend; readonly signals: typeof quiet }
beforeAll(async () => {
  backend = await useBackend('cpu')
  env = { backend, signals: quiet }
})

// A classifier with dropout and shuffled data: every random part a later fit could inherit.
const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dropout(0.3), nn.dense({ units: 3 }))
const classifier = defineModule({
  init: (k) => net.init(k, [4]),
  trainingStep: (model, batch: XY, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { loss: nn.softmaxCrossEntropy(logits, batch.y), logs: { 'train/acc': metrics.accuracy(logits, batch.y) } }
  },
  optimizer: optim.adam({ lr: 0.01 }),
})
const blobs = (n: number) => {
  const x = Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.7) + ((Math.floor(i / 4) % 3) - 1))
  const y = Int32Array.from({ length: n }, (_, i) => i % 3)
  return { x: { data: x, shape: [4] }, y: { data: y, shape: [], dtype: 'int32' as const } }
}
const data = () => ({ train: fromArrays(blobs(64), { batchSize: 8, shuffle: true }) })
const adam = (lr: Schedule) => optim.adam({ lr })

const trainedValues = (): Float32Array[] => {
  const model = runSync(fit(classifier, data(), { maxEpochs: 2, seed: 7 }, { backend, signals: quiet }).pipe(trainedModel()))[0] as Model
  const values = flattenParams(model.params).map((l) => l.tensor.dataSync() as Float32Array)
  disposeTree(model)
  return values
}

describe('tuner.lrFind', () => {
  it('sweeps the learning rate it hands the optimizer, one smoothed loss per step, over repeated epochs', async () => {
    let handed: Schedule | undefined
    const r = await lastValueFrom(
      lrFind(classifier, data(), { optimizer: (lr) => {
          handed = lr
          return adam(lr)
        }, minLr: 1e-5, maxLr: 1e-2, numTraining: 30, earlyStopThreshold: null, trainer: { seed: 1 } }, { backend, signals: quiet }),
    )
    // 8 batches an epoch: the sweep runs 30 steps over 4 epochs
    expect(r.lrs).toHaveLength(30)
    expect(r.losses).toHaveLength(30)
    const sweep = sweepSchedule('exponential', 1e-5, 1e-2, 30)
    expect(r.lrs).toEqual(r.lrs.map((_, i) => sweep(i)))
    expect(r.lrs.map((_, i) => handed?.(i))).toEqual(r.lrs)
    expect(r.losses.every(Number.isFinite)).toBe(true)
    expect(r.suggestion).toBeDefined()
    expect(r.lrs.slice(10, 29)).toContain(r.suggestion)
  })

  it('stops where the smoothed loss diverges, releasing every tensor', async () => {
    const before = tf.memory().numTensors
    const r = await lastValueFrom(lrFind(classifier, data(), { optimizer: (lr) => optim.sgd({ lr }), minLr: 1e-2, maxLr: 1e6, numTraining: 100, beta: 0.5, trainer: { seed: 1 } }, env))
    expect(r.lrs.length).toBeGreaterThan(2)
    expect(r.lrs.length).toBeLessThan(100)
    const last = r.losses.at(-1) as number
    expect(!Number.isFinite(last) || last > 4 * Math.min(...r.losses.slice(0, -1))).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('leaves no trace: a fit with the same seed after it is bitwise the fit without it', async () => {
    const without = trainedValues()
    const found = await lastValueFrom(lrFind(classifier, data(), { optimizer: adam, numTraining: 20, trainer: { seed: 7 } }, env))
    expect(found.lrs.length).toBeGreaterThan(0)
    const after = trainedValues()
    expect(after).toEqual(without)
    // and the module is the same object, optimizer included
    expect(classifier.optimizer).toBeDefined()
    expect(Object.keys(classifier).sort()).toEqual(['init', 'optimizer', 'trainingStep'])
  })

  it('writes the curve as lr_finder.csv and as the lr_finder.json that rxtrain report reads', async () => {
    const fs = memoryFileSystem()
    const r = await lastValueFrom(lrFind(classifier, data(), { optimizer: adam, numTraining: 16, dir: '/runs/x/version_0' }, { ...env, fs }))
    expect(LR_FINDER_JSON).toBe(LR_FINDER_FILE)
    const csv = await fs.readText(`/runs/x/version_0/${LR_FINDER_CSV}`)()
    const lines = csv._tag === 'Right' ? csv.right.trim().split('\n') : []
    expect(lines[0]).toBe('lr,loss')
    expect(lines.slice(1).map((l) => l.split(',').map(Number))).toEqual(r.lrs.map((lr, i) => [lr, r.losses[i]]))
    const json = await fs.readText(`/runs/x/version_0/${LR_FINDER_JSON}`)()
    expect(json._tag === 'Right' && JSON.parse(json.right)).toEqual({ lr: r.lrs, loss: r.losses, suggestion: r.suggestion })
  })

  it('refuses bad options with a remedy', () => {
    const e = failureOf(lrFind(classifier, data(), { optimizer: adam, minLr: 1, maxLr: 0.1 }, env))
    expect(isRxtrainError(e) && e.tag === 'ConfigError' && e.remedy).toMatch(/minLr below maxLr/)
    const n = failureOf(lrFind(classifier, data(), { optimizer: adam, numTraining: 1 }, env))
    expect(isRxtrainError(n) && n.details).toMatchObject({ field: 'numTraining' })
  })
})
