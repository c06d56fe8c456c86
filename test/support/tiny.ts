import * as tf from '@tensorflow/tfjs-core'
import { fromArrays } from '../../src/data/arraySource.js'
import type { DataModule } from '../../src/data/dataModule.js'
import type { BatchSource } from '../../src/data/source.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { defineModule, type Module } from '../../src/pipeline/module.js'
import { sgd } from '../../src/optim/aliases.js'

export interface XY {
  readonly x: tf.Tensor
  readonly y: tf.Tensor
}

/** n examples of y = 2x + 1 with x in [0, 1), one feature. */
export const lineArrays = (n: number, offset = 0) => {
  const x = Float32Array.from({ length: n }, (_, i) => ((i + offset) % 97) / 97)
  const y = Float32Array.from(x, (v) => 2 * v + 1)
  return { x: { data: x, shape: [1] }, y: { data: y, shape: [1] } }
}

/** A source of `batches` batches of `batchSize` examples. */
export const lineSource = (batches: number, batchSize = 1, shuffle = false, offset = 0): BatchSource<XY> =>
  fromArrays(lineArrays(batches * batchSize, offset), { batchSize, shuffle })

/** T training batches and V validation batches of batch size 1 (the worked examples' data). */
export const tinyData = (T: number, V: number, batchSize = 1): DataModule<XY> => ({
  train: lineSource(T, batchSize, true),
  val: lineSource(V, batchSize, false, 1000),
  test: lineSource(V, batchSize, false, 2000),
  predict: lineSource(V, batchSize, false, 3000),
})

const predictLine = (params: { w: tf.Tensor; b: tf.Tensor }, x: tf.Tensor): tf.Tensor =>
  tf.add(tf.matMul(x, params.w), params.b)

type LineParams = { w: tf.Tensor; b: tf.Tensor }

/** A linear regression module y = xW + b trained with SGD. */
export const lineModule = (lr = 0.1): Module<LineParams, Record<string, never>, XY> =>
  defineModule({
    init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
    trainingStep: (model, batch: XY) => {
      const loss = tf.mean(tf.squaredDifference(predictLine(model.params, batch.x), batch.y)) as tf.Scalar
      return { loss, logs: { 'train/loss': loss } }
    },
    validationStep: (model, batch: XY) => ({
      'val/loss': tf.mean(tf.squaredDifference(predictLine(model.params, batch.x), batch.y)),
    }),
    testStep: (model, batch: XY) => ({
      'test/loss': tf.mean(tf.squaredDifference(predictLine(model.params, batch.x), batch.y)),
    }),
    predictStep: (model, batch: XY) => predictLine(model.params, batch.x),
    optimizer: sgd({ lr }),
  })

/** The schedule a run followed, in the worked examples' terms. */
export interface Schedule {
  readonly trainSteps: number
  readonly globalStep: number
  /** `epoch:batch` of the training batch each validation followed. */
  readonly validations: string[]
  /** Batches of each validation run. */
  readonly valBatches: number[]
  readonly sanityBatches: number
  /** Global step after each optimizer step's batch, as `epoch:batch`. */
  readonly stepBatches: string[]
  readonly epochs: number
}

export const scheduleOf = (events: readonly FitEvent[]): Schedule => {
  let last = ''
  let current = -1
  const validations: string[] = []
  const valBatches: number[] = []
  const stepBatches: string[] = []
  let sanityBatches = 0
  let trainSteps = 0
  let globalStep = 0
  let epochs = 0
  for (const e of events) {
    if (e.type === 'trainStep') {
      trainSteps++
      last = `${e.epoch}:${e.batchIdx}`
      if (e.optimizerStepped) stepBatches.push(last)
    } else if (e.type === 'validationStart') {
      validations.push(last)
      current = 0
    } else if (e.type === 'validationStep') {
      if (e.sanity) sanityBatches++
      else current++
    } else if (e.type === 'validationEnd') valBatches.push(current)
    else if (e.type === 'epochEnd') epochs++
    else if (e.type === 'fitEnd') globalStep = e.globalStep
  }
  return { trainSteps, globalStep, validations, valBatches, sanityBatches, stepBatches, epochs }
}
