import * as tf from '@tensorflow/tfjs-core'
import { asyncScheduler, lastValueFrom, type MonoTypeOperatorFunction, observeOn, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { bufferConsole } from '../../src/effects/console.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { formatSummary, modelSummary, summaryRows } from '../../src/hooks/modelSummary.js'
import { nn, optim } from '../../src/index.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { disposeTree, unflattenParams } from '../../src/tree/tree.js'
import { key } from '../../src/random/key.js'
import { quiet, useBackend } from '../support/backend.js'
import { runSync } from '../support/run.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

// dense0: 784·256 + 256 = 200,960; batchNorm1: gamma + beta = 512 trainable, runningMean +
// runningVar = 512 non-trainable; dense2: 256·10 + 10 = 2,570.
// Trainable 200,960 + 512 + 2,570 = 204,042; total 204,554; 204,554 · 4 B = 0.818216 MB.
const net = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.batchNorm(), nn.dense({ units: 10 }))

describe('summaryRows', () => {
  it('groups a dense/batchNorm net by layer with hand-computed counts', () => {
    const model = net.init(key(0), [784])
    const s = summaryRows(model.params, model.state)
    expect(s.rows.map((r) => [r.name, r.params, r.nonTrainable])).toEqual([
      ['dense0', 200_960, 0],
      ['batchNorm1', 512, 512],
      ['dense2', 2_570, 0],
    ])
    expect(s.rows[1]?.leaves).toEqual([
      { path: 'gamma', shape: [256], size: 256, trainable: true },
      { path: 'beta', shape: [256], size: 256, trainable: true },
      { path: 'runningMean', shape: [256], size: 256, trainable: false },
      { path: 'runningVar', shape: [256], size: 256, trainable: false },
    ])
    expect(s.trainableParams).toBe(204_042)
    expect(s.nonTrainableParams).toBe(512)
    expect(s.totalParams).toBe(204_554)
    expect(s.sizeMB).toBeCloseTo(0.818216, 9)
    disposeTree(model)
  })

  it('maxDepth 2 gives a row per tensor path; -1 the same for a two-level tree', () => {
    const model = net.init(key(0), [784])
    const rows = summaryRows(model.params, model.state, 2).rows
    expect(rows.map((r) => [r.name, r.params + r.nonTrainable])).toEqual([
      ['dense0/kernel', 200_704],
      ['dense0/bias', 256],
      ['batchNorm1/gamma', 256],
      ['batchNorm1/beta', 256],
      ['batchNorm1/runningMean', 256],
      ['batchNorm1/runningVar', 256],
      ['dense2/kernel', 2_560],
      ['dense2/bias', 10],
    ])
    expect(rows[0]?.leaves).toEqual([{ path: '', shape: [784, 256], size: 200_704, trainable: true }])
    expect(summaryRows(model.params, model.state, -1).rows.map((r) => r.name)).toEqual(rows.map((r) => r.name))
    disposeTree(model)
  })

  it('lists layers in their sequential order even when the tree was rebuilt with sorted keys', () => {
    const layers = Array.from({ length: 12 }, () => nn.dense({ units: 2 }))
    const model = nn.sequential(...layers).init(key(0), [2])
    // unflattenParams builds records with sorted keys: dense0, dense1, dense10, dense11, dense2, ...
    const sorted = unflattenParams(model.params, Object.keys(model.params).sort().flatMap((k) => {
      const p = model.params[k] as { kernel: tf.Tensor; bias: tf.Tensor }
      return [p.bias, p.kernel]
    }))
    expect(Object.keys(sorted)[2]).toBe('dense10')
    expect(summaryRows(sorted).rows.map((r) => r.name)).toEqual(layers.map((_, i) => `dense${i}`))
    expect(summaryRows(sorted).totalParams).toBe(12 * 6)
    disposeTree(model)
  })

  it('rejects a maxDepth that is not a depth', () => {
    for (const maxDepth of [0, 1.5, -2]) {
      let error: unknown
      try {
        summaryRows({}, {}, maxDepth)
      } catch (e) {
        error = e
      }
      expect(isRxtrainError(error) && error.tag).toBe('ConfigError')
    }
  })
})

describe('formatSummary', () => {
  it('prints the table and the totals', () => {
    const model = net.init(key(0), [784])
    expect(formatSummary(summaryRows(model.params, model.state))).toEqual([
      'name       | shapes                                                       |  params | non-trainable',
      '-----------+--------------------------------------------------------------+---------+--------------',
      'dense0     | kernel [784, 256], bias [256]                                | 200,960 |             0',
      'batchNorm1 | gamma [256], beta [256], runningMean [256], runningVar [256] |     512 |           512',
      'dense2     | kernel [256, 10], bias [10]                                  |   2,570 |             0',
      '',
      '204,042  trainable params',
      '512      non-trainable params',
      '204,554  total params',
      '0.818    estimated size (MB, float32)',
    ])
    disposeTree(model)
  })

  it('leaves out the non-trainable column for a model without state', () => {
    const model = nn.dense({ units: 3 }).init(key(0), [4])
    expect(formatSummary(summaryRows(model.params, model.state))).toEqual([
      'name   | shapes | params',
      '-------+--------+-------',
      'kernel | [4, 3] |     12',
      'bias   | [3]    |      3',
      '',
      '15     trainable params',
      '0      non-trainable params',
      '15     total params',
      '0.000  estimated size (MB, float32)',
    ])
    disposeTree(model)
  })
})

describe('modelSummary', () => {
  const small = nn.sequential(nn.dense({ units: 4 }), nn.batchNorm(), nn.dense({ units: 1 }))
  const module = defineModule({
    init: (k) => small.init(k, [1]),
    trainingStep: (model, batch: XY, ctx) => {
      const out = small.apply(model, batch.x, ctx)
      return { loss: nn.meanSquaredError(out.y, batch.y), state: out.state }
    },
    optimizer: optim.sgd({ lr: 0.01 }),
  })

  it('prints the summary of the model being fitted at fitStart, once, and passes events through', () => {
    const out = bufferConsole()
    const before = tf.memory().numTensors
    const events = runSync(fit(module, tinyData(3, 0, 2), { maxEpochs: 2 }, { backend, signals: quiet, console: out }).pipe(modelSummary()))
    expect(tf.memory().numTensors).toBe(before)
    expect(events.at(-1)?.type).toBe('fitEnd')
    // dense0 1·4 + 4 = 8; batchNorm1 4 + 4 trainable, 8 state; dense2 4·1 + 1 = 5.
    expect(out.lines.filter((l) => l.includes('params'))).toEqual([
      'name       | shapes                                               | params | non-trainable',
      '21     trainable params',
      '8      non-trainable params',
      '29     total params',
    ])
    expect(out.lines.filter((l) => l.startsWith('dense0'))).toHaveLength(1)
  })

  it('prints the same behind an asynchronous operator (observeOn)', async () => {
    const printed = async (before: MonoTypeOperatorFunction<FitEvent>) => {
      const out = bufferConsole()
      const events = await lastValueFrom(fit(module, tinyData(3, 0, 2), { maxEpochs: 2 }, { backend, signals: quiet, console: out }).pipe(before, modelSummary({ maxDepth: 2 }), toArray()))
      return { events: events.length, lines: out.lines }
    }
    const plain = await printed((s) => s)
    expect(plain.lines.filter((l) => l.startsWith('batchNorm1/runningVar'))).toHaveLength(1)
    expect(await printed(observeOn(asyncScheduler))).toEqual(plain)
  })
})
