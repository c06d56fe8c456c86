import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import type { DataModule } from '../../src/data/dataModule.js'
import { type BatchSource, done } from '../../src/data/source.js'
import { bufferConsole } from '../../src/effects/console.js'
import { accuracy } from '../../src/metrics/classification.js'
import { dense } from '../../src/nn/dense.js'
import { softmaxCrossEntropy } from '../../src/nn/losses.js'
import { sgd } from '../../src/optim/aliases.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, lineSource, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/**
 * Issue 16, point 10: no silent data bugs. Class ids outside [0, classes) are an error that names
 * the batch and the value (tf.oneHot alone turns them into all-zero targets, and the run trains
 * on); an empty training or validation source gets Lightning's warning, as an event and a line.
 */

const net = dense({ units: 4 })

/** A four-class classifier whose loss is `loss` (the library's by default). */
const classifier = (loss: (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar = softmaxCrossEntropy) =>
  defineModule({
    init: (k) => net.init(k, [3]),
    trainingStep: (model, batch: XY, ctx) => ({ loss: loss(net.apply(model, batch.x, ctx).y, batch.y) }),
    validationStep: (model, batch: XY, ctx) => ({ 'val/acc': accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
    optimizer: sgd({ lr: 0.5 }),
  })

/** `n` examples of 3 features, labelled `i % 4`, except example `at`, labelled `bad`. */
const labelled = (n: number, bad?: { readonly at: number; readonly label: number }): BatchSource<XY> =>
  fromArrays(
    {
      x: { data: Float32Array.from({ length: n * 3 }, (_, i) => ((i * 7) % 11) / 11), shape: [3] },
      y: { data: Int32Array.from({ length: n }, (_, i) => (i === bad?.at ? bad.label : i % 4)), shape: [], dtype: 'int32' as const },
    },
    { batchSize: 4 },
  )

const run = (module: ReturnType<typeof classifier> | ReturnType<typeof lineModule>, data: DataModule<XY>, options: TrainerOptions, console = bufferConsole()) =>
  lastValueFrom(fit(module as ReturnType<typeof classifier>, data, options, { backend, signals: quiet, console }).pipe(toArray()))

const failure = async (events: Promise<FitEvent[]>): Promise<unknown> => {
  try {
    await events
  } catch (e) {
    return e
  }
  throw new Error('the run did not fail')
}

describe('class ids outside [0, classes) stop fit with a DataError naming the batch and the value', () => {
  it('label 7 with four classes, in batch 1 of the epoch', async () => {
    const e = await failure(run(classifier(), { train: labelled(16, { at: 5, label: 7 }) }, { maxEpochs: 1 }))
    expect(e).toMatchObject({ tag: 'DataError', details: { stage: 'train', epoch: 0, batchIdx: 1, value: 7, classes: 4 } })
    const message = (e as Error).message
    expect(message).toContain('train step at epoch 0, batch 1')
    expect(message).toContain('label 7 at [1] of the labels is outside the 4 classes [0, 4)')
    expect(message).toContain('How to fix:')
  })

  it('label -1, in batch 3 of the epoch', async () => {
    const e = await failure(run(classifier(), { train: labelled(16, { at: 13, label: -1 }) }, { maxEpochs: 1 }))
    expect(e).toMatchObject({ tag: 'DataError', details: { batchIdx: 3, value: -1 } })
    expect((e as Error).message).toContain('label -1 at [1]')
  })

  it('in validation data, through metrics.accuracy, the sanity check names it', async () => {
    const e = await failure(run(classifier(), { train: labelled(8), val: labelled(8, { at: 6, label: 4 }) }, { maxEpochs: 1 }))
    expect(e).toMatchObject({ tag: 'DataError', details: { stage: 'sanity', batchIdx: 1, value: 4 } })
    expect((e as Error).message).toContain('metrics.accuracy: label 4')
  })

  it('labels in range train exactly as without the check (the losses of a hand-written loss, bit for bit)', async () => {
    const handWritten = (logits: tf.Tensor, labels: tf.Tensor): tf.Scalar =>
      tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), 4, 1, 0, 'float32'), tf.logSoftmax(logits)), -1)))
    const losses = (events: FitEvent[]) => events.flatMap((e) => (e.type === 'trainStep' ? [e.loss] : []))
    const checked = await run(classifier(), { train: labelled(16) }, { maxEpochs: 2 })
    const unchecked = await run(classifier(handWritten), { train: labelled(16) }, { maxEpochs: 2 })
    expect(losses(checked)).toHaveLength(8)
    expect(losses(checked)).toEqual(losses(unchecked))
  })
})

/** A source of unknown length that never yields a batch, counting the passes opened. */
const emptyStream = () => {
  const opened = { count: 0 }
  const source: BatchSource<XY> = {
    numBatches: undefined,
    open: () => {
      opened.count++
      return { next: () => done, close: () => {} }
    },
  }
  return { source, opened }
}

const warnings = (events: FitEvent[]) => events.flatMap((e) => (e.type === 'warning' ? [e] : []))
const endOf = (events: FitEvent[]) => events.at(-1)

describe("an empty source gets Lightning's warning: a `warning` event and a printed line", () => {
  it('an empty training source (numBatches 0): the warning, then the run ends with noTrainBatches', async () => {
    const out = bufferConsole()
    const events = await run(lineModule(), { train: lineSource(0), val: lineSource(2) }, { maxEpochs: 3 }, out)
    expect(warnings(events)).toMatchObject([{ kind: 'emptyTrainSource', message: expect.stringContaining('the training source has no batches') }])
    expect(events.map((e) => e.type).slice(0, 2)).toEqual(['fitStart', 'warning'])
    expect(out.errors).toEqual([expect.stringMatching(/^rxtrain warning: the training source has no batches \(numBatches 0\): training is skipped/)])
    expect(endOf(events)).toMatchObject({ type: 'fitEnd', reason: 'noTrainBatches' })
  })

  it('an empty validation source (numBatches 0): the warning, and training runs without validation', async () => {
    const out = bufferConsole()
    const events = await run(lineModule(), { train: lineSource(3), val: lineSource(0) }, { maxEpochs: 2 }, out)
    expect(warnings(events)).toMatchObject([{ kind: 'emptyValSource', message: expect.stringContaining('the validation source has no batches') }])
    expect(out.errors).toEqual([expect.stringMatching(/^rxtrain warning: the validation source has no batches/)])
    expect(events.filter((e) => e.type === 'trainStep')).toHaveLength(6)
    expect(events.filter((e) => e.type === 'validationStart')).toHaveLength(0)
    expect(endOf(events)).toMatchObject({ type: 'fitEnd', reason: 'maxEpochs' })
  })

  it('no warning when the sources have batches, or when a limit (not the source) is 0', async () => {
    const out = bufferConsole()
    const events = await run(lineModule(), { train: lineSource(3), val: lineSource(2) }, { maxEpochs: 1, limitValBatches: 0 }, out)
    expect(warnings(events)).toEqual([])
    expect(out.errors).toEqual([])
  })

  it('a training source of unknown length that yields nothing: one warning, one empty epoch, and the run ends (it looped over every epoch before)', async () => {
    const { source, opened } = emptyStream()
    const out = bufferConsole()
    const events = await run(lineModule(), { train: source }, { maxEpochs: 50, maxSteps: 10 }, out)
    expect(warnings(events)).toMatchObject([{ kind: 'emptyTrainSource', message: expect.stringContaining('yielded no batches in epoch 1') }])
    expect(out.errors).toHaveLength(1)
    expect(opened.count).toBe(1)
    expect(endOf(events)).toMatchObject({ type: 'fitEnd', reason: 'noTrainBatches', globalStep: 0 })
  })

  it('a training source of unknown length under a batch-count limit: the same warning, not an error about a declared length', async () => {
    const events = await run(lineModule(), { train: emptyStream().source }, { maxEpochs: 2, limitTrainBatches: 5 })
    expect(warnings(events)).toMatchObject([{ kind: 'emptyTrainSource' }])
    expect(endOf(events)).toMatchObject({ type: 'fitEnd', reason: 'noTrainBatches' })
  })

  it('a validation source of unknown length that yields nothing: one warning for the run, not a DataError about a declared length', async () => {
    const out = bufferConsole()
    const events = await run(lineModule(), { train: lineSource(2), val: emptyStream().source }, { maxEpochs: 2 }, out)
    expect(warnings(events)).toMatchObject([{ kind: 'emptyValSource', message: expect.stringContaining('yielded no batches') }])
    expect(out.errors).toHaveLength(1)
    expect(events.filter((e) => e.type === 'trainStep')).toHaveLength(4)
    expect(endOf(events)).toMatchObject({ type: 'fitEnd', reason: 'maxEpochs' })
  })
})
