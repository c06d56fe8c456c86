import * as tf from '@tensorflow/tfjs-core'
import { asyncScheduler, concatMap, delay, lastValueFrom, type MonoTypeOperatorFunction, observeOn, of } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { collectPredictions } from '../../src/hooks/collectPredictions.js'
import { evalMetrics } from '../../src/hooks/evalMetrics.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import type { Model } from '../../src/nn/layer.js'
import type { EvalEvent, FitEvent, PredictEvent } from '../../src/pipeline/events.js'
import { predict, validate } from '../../src/pipeline/evaluate.js'
import { fit } from '../../src/pipeline/fit.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** Each operator goes before the result operator: none, observeOn, and a delay per event. */
const asyncOperators = <E>(): [string, MonoTypeOperatorFunction<E>][] => [
  ['observeOn(asyncScheduler)', observeOn(asyncScheduler)],
  ['concatMap into delay(0)', concatMap((e: E) => of(e).pipe(delay(0)))],
]

const valuesOf = (model: Model): [string, number[]][] => flattenParams(model.params).map((l) => [l.path, Array.from(l.tensor.dataSync())])

describe('trainedModel', () => {
  const train = (before: MonoTypeOperatorFunction<FitEvent>) =>
    lastValueFrom(fit(lineModule(), tinyData(4, 2), { maxEpochs: 2, seed: 3 }, { backend, signals: quiet }).pipe(before, trainedModel()))

  it.each(asyncOperators<FitEvent>())('behind %s returns the final parameters, a copy that is the only tensors left', async (_, before) => {
    const start = tf.memory().numTensors
    const plain = await train((s) => s)
    const expected = valuesOf(plain)
    disposeTree(plain)
    expect(tf.memory().numTensors).toBe(start)

    const model = await train(before)
    expect(valuesOf(model)).toEqual(expected)
    expect(expected.map(([path]) => path).sort()).toEqual(['b', 'w'])
    disposeTree(model)
    expect(tf.memory().numTensors).toBe(start)
  })
})

describe('collectPredictions', () => {
  it.each(asyncOperators<PredictEvent>())('behind %s gathers every output, copied before the run releases it', async (_, before) => {
    const model = { params: { w: tf.tensor2d([[2]]), b: tf.tensor1d([1]) }, state: {} }
    const start = tf.memory().numTensors
    const run = (op: MonoTypeOperatorFunction<PredictEvent>) =>
      lastValueFrom(predict(lineModule(), model, tinyData(1, 3, 2), {}, { backend, signals: quiet }).pipe(op, collectPredictions()))
    const plain = await run((s) => s)
    const delayed = await run(before)
    expect(plain.shape).toEqual([6, 1])
    expect(Array.from(delayed.dataSync())).toEqual(Array.from(plain.dataSync()))
    tf.dispose([plain, delayed])
    expect(tf.memory().numTensors).toBe(start)
    disposeTree(model)
  })
})

describe('evalMetrics', () => {
  it.each(asyncOperators<EvalEvent>())('behind %s gives the same metrics', async (_, before) => {
    const model = { params: { w: tf.tensor2d([[2]]), b: tf.tensor1d([1]) }, state: {} }
    const run = (op: MonoTypeOperatorFunction<EvalEvent>) => lastValueFrom(validate(lineModule(), model, tinyData(1, 3), {}, { backend, signals: quiet }).pipe(op, evalMetrics()))
    const plain = await run((s) => s)
    expect(plain['val/loss']).toBeCloseTo(0, 6)
    expect(await run(before)).toEqual(plain)
    disposeTree(model)
  })
})
