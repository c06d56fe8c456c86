import * as tf from '@tensorflow/tfjs-core'
import { Subject, take, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { collectPredictions } from '../../src/hooks/collectPredictions.js'
import { evalMetrics } from '../../src/hooks/evalMetrics.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { metrics, nn, optim } from '../../src/index.js'
import type { Model } from '../../src/nn/layer.js'
import { predict, test, validate } from '../../src/pipeline/evaluate.js'
import type { FitEvent, TrainStep } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { disposeTree, flattenParams, tensorsOf } from '../../src/tree/tree.js'
import { stopWhen, workWhen } from '../support/hooks.js'
import { quiet, useBackend } from '../support/backend.js'
import { failureOf, runSync } from '../support/run.js'
import { lineModule, tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

// A small classifier over 4 features and 3 classes, with dropout and shuffling: every random part.
const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dropout(0.3), nn.dense({ units: 3 }))
const classifier = (optimizer = optim.adam({ lr: 0.01 })) =>
  defineModule({
    init: (k) => net.init(k, [4]),
    trainingStep: (model, batch: XY, ctx) => {
      const logits = net.apply(model, batch.x, ctx).y
      const loss = nn.softmaxCrossEntropy(logits, batch.y)
      return { loss, logs: { 'train/loss': loss } }
    },
    validationStep: (model, batch: XY, ctx) => ({ 'val/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
    testStep: (model, batch: XY, ctx) => ({ 'test/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
    predictStep: (model, batch: XY, ctx) => net.apply(model, batch.x, ctx).y,
    optimizer,
  })

const blobs = (n: number, features = 4) => {
  const x = Float32Array.from({ length: n * features }, (_, i) => Math.sin(i * 1.7) + ((Math.floor(i / features) % 3) - 1))
  const y = Int32Array.from({ length: n }, (_, i) => i % 3)
  return { x: { data: x, shape: [features] }, y: { data: y, shape: [], dtype: 'int32' as const } }
}
const blobData = (features = 4) => ({
  train: fromArrays(blobs(60, features), { batchSize: 8, shuffle: true }),
  val: fromArrays(blobs(20, features), { batchSize: 8 }),
  test: fromArrays(blobs(20, features), { batchSize: 8 }),
  predict: fromArrays(blobs(20, features), { batchSize: 8 }),
})

const paramValues = (model: Model): Float32Array[] => flattenParams(model.params).map((l) => l.tensor.dataSync() as Float32Array)

const train = (options: TrainerOptions, module = classifier()) => {
  const model = runSync(fit(module, blobData(), options, { backend, signals: quiet }).pipe(trainedModel()))[0] as Model
  const values = paramValues(model)
  disposeTree(model)
  return values
}

describe('determinism', () => {
  it('the same seed gives bitwise-identical parameters', () => {
    expect(train({ maxEpochs: 3, seed: 11 })).toEqual(train({ maxEpochs: 3, seed: 11 }))
  })
  it('another seed gives other parameters', () => {
    expect(train({ maxEpochs: 1, seed: 11 })).not.toEqual(train({ maxEpochs: 1, seed: 12 }))
  })
})

describe('no leaks', () => {
  it('fit leaves exactly the returned model behind', () => {
    const before = tf.memory().numTensors
    const [model] = runSync(fit(classifier(), blobData(), { maxEpochs: 2, accumulateGradBatches: 3, valCheckInterval: 0.5 }, { backend, signals: quiet }).pipe(trainedModel()))
    expect(tf.memory().numTensors).toBe(before + tensorsOf(model).length)
    disposeTree(model)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('validate and test leave nothing; predict leaves the one tensor it returns', () => {
    const [model] = runSync(fit(classifier(), blobData(), { maxEpochs: 1 }, { backend, signals: quiet }).pipe(trainedModel()))
    const before = tf.memory().numTensors
    runSync(validate(classifier(), model!, blobData(), {}, { backend, signals: quiet }))
    runSync(test(classifier(), model!, blobData(), {}, { backend, signals: quiet }))
    expect(tf.memory().numTensors).toBe(before)
    const [predictions] = runSync(predict(classifier(), model!, blobData(), {}, { backend, signals: quiet }).pipe(collectPredictions()))
    expect(tf.memory().numTensors).toBe(before + 1)
    expect(predictions?.shape).toEqual([20, 3])
    disposeTree([predictions, model])
  })

  it('unsubscribing synchronously (take) stops at the next step boundary and releases everything', () => {
    const before = tf.memory().numTensors
    let steps = 0
    runSync(fit(classifier(), blobData(), { maxEpochs: 100 }, { backend, signals: quiet }).pipe(tap((e) => { if (e.type === 'trainStep') steps++ }), take(12)))
    expect(steps).toBeLessThan(12)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("cancelling while a hook's work is under way keeps the state alive until that work finishes", async () => {
    const before = tf.memory().numTensors
    let read: number[] | undefined
    let readError: unknown
    await new Promise<void>((resolve) => {
      const subscription = fit(classifier(), blobData(), { maxEpochs: 5 }, { backend, signals: quiet })
        .pipe(
          workWhen(
            (e) => e.type === 'trainStep' && e.batchIdx === 2,
            (e) => {
              const params = (e as TrainStep).state.params
              setTimeout(() => subscription.unsubscribe(), 5) // cancel while the work is under way
              return (async () => {
                await new Promise((r) => setTimeout(r, 20))
                try {
                  read = flattenParams(params).map((l) => l.tensor.dataSync()[0] as number)
                } catch (err) {
                  readError = err
                }
                setTimeout(resolve, 5)
              })()
            },
          ),
        )
        .subscribe()
    })
    expect(readError).toBeUndefined()
    expect(read?.length).toBe(4)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a hook that is not downstream of a run fails at subscription with a FlowError', () => {
    let failure: unknown
    new Subject<FitEvent>().pipe(stopWhen(() => true)).subscribe({ error: (e: unknown) => (failure = e) })
    expect(String(failure)).toMatch(/FlowError: hook 'stopWhen' is not downstream of a run/)
  })

  it('a run that fails releases everything', () => {
    const before = tf.memory().numTensors
    expect(isRxtrainError(failureOf(fit(classifier(), blobData(5), { maxEpochs: 1 }, { backend, signals: quiet })))).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('bad input gets a tagged error that names the problem', () => {
  it('a batch whose shape does not fit the model (caught by the sanity check, as in Lightning)', () => {
    const e = failureOf(fit(classifier(), blobData(5), { maxEpochs: 1 }, { backend, signals: quiet }))
    expect(isRxtrainError(e) && e.tag).toBe('ShapeError')
    expect((e as Error).message).toMatch(/^ShapeError: sanity step at epoch 0, batch 0 \(batch: x \[8,5\] float32, y \[8\] int32\): dense expects inputs of shape \[batch, 4\], got \[8, 5\]/)
  })

  it('without a sanity check, the first training step names it', () => {
    const e = failureOf(fit(classifier(), blobData(5), { maxEpochs: 1, numSanityValSteps: 0 }, { backend, signals: quiet }))
    expect((e as Error).message).toMatch(/^ShapeError: train step at epoch 0, batch 0 .*got \[8, 5\]/)
    expect(isRxtrainError(e) && e.remedy.length).toBeGreaterThan(10)
  })

  const nanAfter = (k: number) =>
    defineModule({
      init: () => ({ params: { w: tf.scalar(1) }, state: {} }),
      trainingStep: (model, _batch: XY, ctx) => {
        const loss = tf.mul(tf.square(model.params.w), ctx.globalStep >= k ? Number.NaN : 1) as tf.Scalar
        return { loss, logs: { 'train/loss': loss } }
      },
      optimizer: optim.sgd({ lr: 0.1 }),
    })

  it('a non-finite loss stops the run with the step and the metric named', () => {
    const e = failureOf(fit(nanAfter(3), tinyData(10, 1), { maxEpochs: 1 }, { backend, signals: quiet }))
    expect(isRxtrainError(e) && e.tag).toBe('NonFiniteError')
    expect((e as Error).message).toMatch(/NaN at epoch 0, batch 3 \(global step 3\).*train\/loss = NaN/)
    expect((e as Error).message).toMatch(/applyIfFinite/)
  })

  it('with applyIfFinite in the chain, non-finite steps are skipped and training goes on', () => {
    const guarded = { ...nanAfter(3), optimizer: optim.applyIfFinite(optim.sgd({ lr: 0.1 })) }
    const events = runSync(fit(guarded, tinyData(10, 1), { maxEpochs: 1 }, { backend, signals: quiet }))
    const end = events.at(-1) as Extract<FitEvent, { type: 'fitEnd' }>
    expect(end.globalStep).toBe(10)
  })

  it('an unknown option, with the likely intended one', () => {
    const e = failureOf(fit(lineModule(), tinyData(2, 1), { maxEpoch: 3 } as TrainerOptions, { backend, signals: quiet }))
    expect(isRxtrainError(e) && e.tag).toBe('ConfigError')
    expect((e as Error).message).toMatch(/unknown option 'maxEpoch'.*\n.*did you mean 'maxEpochs'/)
  })

  it('a negative maxEpochs', () => {
    const e = failureOf(fit(lineModule(), tinyData(2, 1), { maxEpochs: -3 }, { backend, signals: quiet }))
    expect(isRxtrainError(e) && e.tag).toBe('ConfigError')
    expect((e as Error).message).toMatch(/maxEpochs must be an integer >= -1, got -3/)
  })

  it('a data module without training data, a module without a predict step', () => {
    expect((failureOf(fit(lineModule(), {}, {}, { backend, signals: quiet })) as Error).message).toMatch(/training source/)
    const noPredict = { ...lineModule(), predictStep: undefined }
    expect((failureOf(predict(noPredict, { params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }, tinyData(2, 2), {}, { backend, signals: quiet })) as Error).message).toMatch(/no predictStep/)
  })
})

describe('what a step may log', () => {
  it('a parameter itself (read before the generation that holds it is released)', () => {
    const module = {
      ...lineModule(0.1),
      trainingStep: (model: Model, batch: XY) => {
        const w = model.params.w as tf.Tensor
        const loss = tf.mean(tf.squaredDifference(tf.matMul(batch.x, w), batch.y)) as tf.Scalar
        return { loss, logs: { w } }
      },
    }
    const before = tf.memory().numTensors
    const steps = runSync(fit(module, tinyData(3, 1), { maxEpochs: 1 }, { backend, signals: quiet })).filter((e) => e.type === 'trainStep')
    expect(steps.map((e) => (e.type === 'trainStep' ? e.metrics.w : -1))[0]).toBe(0) // w starts at 0
    expect(steps).toHaveLength(3)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('sources that lie about their length', () => {
  it('a source that ends before its declared numBatches is a DataError', () => {
    const short = tinyData(4, 1)
    const train = short.train!
    const lying = { numBatches: 5, open: train.open }
    const e = failureOf(fit(lineModule(), { train: lying }, { maxEpochs: 2 }, { backend, signals: quiet }))
    expect(isRxtrainError(e) && e.tag).toBe('DataError')
    expect((e as Error).message).toMatch(/train source declared 5 batches per pass but ended after 4/)
  })
})

describe('evaluation streams', () => {
  const fixed: Model = { params: { w: tf.tensor2d([[2]]), b: tf.tensor1d([0.5]) }, state: {} }

  it('validate and test reduce exactly over the whole set (unequal batches)', () => {
    // lineSource targets y = 2x + 1; this model predicts 2x + 0.5: squared error 0.25 on every example.
    const xs = { x: { data: new Float32Array([0, 0.1, 0.2, 0.3, 0.4]), shape: [1] }, y: { data: new Float32Array([1, 1.2, 1.4, 1.6, 1.8]), shape: [1] } }
    const data = { val: fromArrays(xs, { batchSize: 2 }) }
    const [m] = runSync(validate(lineModule(), fixed, data, {}, { backend, signals: quiet }).pipe(evalMetrics()))
    expect(m?.['val/loss']).toBeCloseTo(0.25, 6)
    const [t] = runSync(test(lineModule(), fixed, tinyData(1, 7, 1), {}, { backend, signals: quiet }).pipe(evalMetrics()))
    expect(t?.['test/loss']).toBeCloseTo(0.25, 6)
  })

  it('predict keeps the order of the batches', () => {
    const data = { predict: fromArrays({ x: { data: new Float32Array([1, 2, 3, 4, 5]), shape: [1] }, y: { data: new Float32Array(5), shape: [1] } }, { batchSize: 2 }) }
    const [p] = runSync(predict(lineModule(), fixed, data, {}, { backend, signals: quiet }).pipe(collectPredictions()))
    expect(Array.from(p!.dataSync())).toEqual([2.5, 4.5, 6.5, 8.5, 10.5])
    p!.dispose()
  })

  it('predict outputs may alias the batch or a parameter: nothing is used after release, the model is untouched', () => {
    const data = { predict: fromArrays({ x: { data: new Float32Array([1, 2, 3]), shape: [1] }, y: { data: new Float32Array(3), shape: [1] } }, { batchSize: 2 }) }
    const before = tf.memory().numTensors
    const [echo] = runSync(predict({ ...lineModule(), predictStep: (_m: Model, batch: XY) => batch.x }, fixed, data, {}, { backend, signals: quiet }).pipe(collectPredictions()))
    expect(Array.from(echo!.dataSync())).toEqual([1, 2, 3])
    echo!.dispose()
    const [weights] = runSync(predict({ ...lineModule(), predictStep: (m: Model) => m.params.w as tf.Tensor }, fixed, data, {}, { backend, signals: quiet }).pipe(collectPredictions()))
    expect((fixed.params.w as tf.Tensor).isDisposed).toBe(false)
    expect(Array.from(weights!.dataSync())).toEqual([2, 2])
    weights!.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('limitTestBatches limits a test run', () => {
    const events = runSync(test(lineModule(), fixed, tinyData(1, 7, 1), { limitTestBatches: 3 }, { backend, signals: quiet }))
    expect(events.filter((e) => e.type === 'evalStep')).toHaveLength(3)
  })
})

describe('trainer options that change the update', () => {
  const oneParam = (gradient: number[], optimizer = optim.sgd({ lr: 1 })) =>
    defineModule({
      init: () => ({ params: { w: tf.zeros([gradient.length]) }, state: {} }),
      trainingStep: (model) => ({ loss: tf.sum(tf.mul(model.params.w, tf.tensor1d(gradient))) as tf.Scalar }),
      optimizer,
    })
  const finalW = (module: ReturnType<typeof oneParam>, options: TrainerOptions) => {
    const [model] = runSync(fit(module, tinyData(1, 1), { maxEpochs: 1, ...options }, { backend, signals: quiet }).pipe(trainedModel()))
    const w = Array.from((model!.params.w as tf.Tensor).dataSync())
    disposeTree(model)
    return w
  }

  it('gradientClipVal with the norm algorithm clips the global norm', () => {
    // gradient (3, 4) has norm 5; clipped to norm 1 it is (0.6, 0.8); sgd lr 1 subtracts it
    const w = finalW(oneParam([3, 4]), { gradientClipVal: 1 })
    expect(w[0]).toBeCloseTo(-0.6, 6)
    expect(w[1]).toBeCloseTo(-0.8, 6)
  })

  it('gradientClipVal with the value algorithm clips each element', () => {
    expect(finalW(oneParam([3, -0.2]), { gradientClipVal: 0.5, gradientClipAlgorithm: 'value' }).map((v) => Number(v.toFixed(6)))).toEqual([-0.5, 0.2])
  })

  it('an optimizer given as a function of the plan sees the planned steps', () => {
    let seen = -1
    const module = { ...lineModule(), optimizer: (plan: { estimatedSteppingBatches: number }) => ((seen = plan.estimatedSteppingBatches), optim.sgd({ lr: 0.1 })) }
    runSync(fit(module, tinyData(10, 1), { maxEpochs: 3, accumulateGradBatches: 4 }, { backend, signals: quiet }))
    expect(seen).toBe(9) // ceil(10 / 4) = 3 steps per epoch, 3 epochs
  })

  it('reduceOnPlateau is driven by the validation metrics', () => {
    const plateau = optim.chain(optim.sgd({ lr: 0 }), optim.reduceOnPlateau({ monitor: 'val/loss', patience: 1, factor: 0.5 }))
    const events = runSync(fit({ ...lineModule(), optimizer: plateau }, tinyData(2, 1), { maxEpochs: 4 }, { backend, signals: quiet }))
    const end = events.at(-1) as Extract<FitEvent, { type: 'fitEnd' }>
    // lr 0: the validation loss never improves after the first epoch; with patience 1 the second
    // bad epoch (epoch 3) halves the scale, and the counter starts again.
    expect(plateau.hyperparams?.(end.state.optState as never).plateauScale).toBe(0.5)
  })
})
