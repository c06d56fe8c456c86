import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { optim, tidy } from '../../src/index.js'
import type { TrainState } from '../../src/pipeline/events.js'
import type { StepContext } from '../../src/pipeline/module.js'
import { applyGradients, computeGradients, trainStep } from '../../src/pipeline/step.js'
import { baseStep, composeStep } from '../../src/pipeline/stepParts.js'
import { clippedOptimizer, skipNonFinite, withAccumulation, withPrecision } from '../../src/pipeline/stepTransformers.js'
import { resolvePrecision } from '../../src/backends/precision.js'
import { parseTrainerOptions } from '../../src/pipeline/options.js'
import { type LoopPlan, planFit } from '../../src/pipeline/plan.js'
import * as E from 'fp-ts/lib/Either.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { foldIn, key } from '../../src/random/key.js'
import { disposeTree, flattenParams, type Params, releaseGeneration, tensorsOf } from '../../src/tree/tree.js'
import type { Model } from '../../src/nn/layer.js'
import { useBackend } from '../support/backend.js'
import { type ClassifierBatch, movingPartsClassifier } from '../support/classifier.js'

beforeAll(async () => {
  await useBackend('cpu')
})

// A small classifier with every kind of moving part: dropout (keyed), batch norm (state).
const classifier = movingPartsClassifier({ dropout: 0.5, lr: 0.01 })
type Batch = ClassifierBatch

const sgd = optim.sgd({ lr: 0.1 })
const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw e.left
  return e.right
}
const ctx: StepContext = { stage: 'train', training: true, key: key(7), epoch: 0, batchIdx: 0, globalStep: 0 }

/** A state and a batch; the state initialised by `step` when given (its optimizer may be a clipping chain). */
const setup = (step?: { init: (m: Model<Params, Params>) => TrainState }) => {
  const model = classifier.init(key(0))
  const state: TrainState = step?.init(model) ?? { params: model.params, state: model.state, optState: classifier.optimizer.init(model.params) }
  const batch = {
    x: tf.tensor2d(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [6, 4]),
    y: tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'),
  }
  return { state, batch }
}

const valuesOf = (tree: unknown): number[][] => tensorsOf(tree).map((t) => Array.from(t.dataSync()))

describe('a training step is a pure function', () => {
  it('called twice on the same inputs, it returns equal outputs and disposes nothing it was given', () => {
    const { state, batch } = setup()
    const given = tensorsOf([state, batch])
    const step = trainStep(classifier, classifier.optimizer)
    const first = tidy(() => step(state, batch, ctx))
    const second = tidy(() => step(state, batch, ctx))
    expect(given.every((t) => !t.isDisposed)).toBe(true)
    expect(first.loss.dataSync()[0]).toBe(second.loss.dataSync()[0])
    expect(valuesOf(first.state)).toEqual(valuesOf(second.state))
    expect(valuesOf(first.logs)).toEqual(valuesOf(second.logs))
    // and it did something: parameters moved, batch-norm statistics moved
    expect(valuesOf(first.state.params)).not.toEqual(valuesOf(state.params))
    expect(valuesOf(first.state.state)).not.toEqual(valuesOf(state.state))
    disposeTree([first, second, state, batch])
  })

  it('depends on the step key (dropout) and on nothing else', () => {
    const { state, batch } = setup()
    const step = trainStep(classifier, classifier.optimizer)
    const a = tidy(() => step(state, batch, ctx))
    const b = tidy(() => step(state, batch, { ...ctx, key: foldIn(ctx.key, 1) }))
    expect(a.loss.dataSync()[0]).not.toBe(b.loss.dataSync()[0])
    disposeTree([a, b, state, batch])
  })

  it('leaks nothing: after releasing outputs the tensor count is back where it was', () => {
    const { state, batch } = setup()
    const before = tf.memory().numTensors
    const step = trainStep(classifier, classifier.optimizer)
    const out = tidy(() => step(state, batch, ctx))
    const kept = new Set(tensorsOf([state, batch]).map((t) => t.id))
    for (const t of tensorsOf(out)) if (!kept.has(t.id)) t.dispose()
    expect(tf.memory().numTensors).toBe(before)
    disposeTree([state, batch])
  })

  it('keeping only the next state (the README pattern) leaves nothing else behind', () => {
    const { state, batch } = setup()
    const before = tf.memory().numTensors
    const step = trainStep(classifier, classifier.optimizer)
    const next = tidy(() => step(state, batch, ctx).state)
    const kept = new Set(tensorsOf([state, batch]).map((t) => t.id))
    for (const t of tensorsOf(next)) if (!kept.has(t.id)) t.dispose()
    expect(tf.memory().numTensors).toBe(before)
    disposeTree([state, batch])
  })

  it('a step that fails after the forward pass (in the optimizer) leaks nothing', () => {
    const { state, batch } = setup()
    const before = tf.memory().numTensors
    const failing = { ...classifier.optimizer, update: () => { throw new Error('optimizer failed') } }
    expect(() => tidy(() => trainStep(classifier, failing)(state, batch, ctx))).toThrow(/optimizer failed/)
    expect(tf.memory().numTensors).toBe(before)
    disposeTree([state, batch])
  })

  it('computeGradients gives zeros for parameters the loss does not use', () => {
    const params = { used: tf.scalar(2), unused: tf.scalar(5) }
    const g = tidy(() =>
      computeGradients(trainStep({ trainingStep: (m: Model<typeof params, Params>) => ({ loss: tf.square(m.params.used) as tf.Scalar }) }, sgd), { params, state: {} }, undefined, ctx),
    )
    const leaves = Object.fromEntries(flattenParams(g.grads).map((l) => [l.path, l.tensor.dataSync()[0]]))
    expect(leaves).toEqual({ used: 4, unused: 0 })
    disposeTree([g, params])
  })

  it('divides the loss by the accumulation count before differentiating (accumulateGradBatches)', () => {
    const params = { w: tf.scalar(3) }
    const g = tidy(() =>
      computeGradients(trainStep({ trainingStep: (m: Model<typeof params, Params>) => ({ loss: tf.square(m.params.w) as tf.Scalar }) }, sgd, { accumulateGradBatches: 4 }), { params, state: {} }, undefined, ctx),
    )
    // d/dw (w^2 / 4) = w / 2 = 1.5; the reported loss stays w^2 = 9
    expect((g.grads.w as tf.Tensor).dataSync()[0]).toBe(1.5)
    expect(g.loss.dataSync()[0]).toBe(9)
    disposeTree([g, params])
  })

  it('rejects a non-scalar loss with a ShapeError', () => {
    const params = { w: tf.ones([3]) }
    expect(() =>
      tidy(() => computeGradients(trainStep({ trainingStep: (m: Model<typeof params, Params>) => ({ loss: tf.mul(m.params.w, 2) as unknown as tf.Scalar }) }, sgd), { params, state: {} }, undefined, ctx)),
    ).toThrow(/scalar loss.*\[3\]/)
    disposeTree(params)
  })
})

describe("trainStep with a module's optimizer given as a function of the plan", () => {
  const scheduled = (plan: LoopPlan) => optim.sgd({ lr: 0.1 / plan.estimatedSteppingBatches })

  it('builds it for the plan given, as fit does', () => {
    const plan = right(planFit(right(parseTrainerOptions({ maxEpochs: 2 })), { trainBatches: 5, valBatches: 0, hasValidation: false }))
    const [viaSpecStep, directStep] = [trainStep(classifier, scheduled, { plan }), trainStep(classifier, optim.sgd({ lr: 0.01 }))]
    expect(plan.estimatedSteppingBatches).toBe(10)
    const { state, batch } = setup(directStep)
    const viaSpec = tidy(() => viaSpecStep(state, batch, ctx))
    const direct = tidy(() => directStep(state, batch, ctx))
    expect(valuesOf(viaSpec.state.params)).toEqual(valuesOf(direct.state.params))
    disposeTree([viaSpec, direct, state, batch])
  })

  it('without a plan, is a ConfigError that names the remedy', () => {
    let caught: unknown
    try {
      trainStep(classifier, scheduled)
    } catch (e) {
      caught = e
    }
    expect(isRxtrainError(caught) && caught.tag === 'ConfigError' && caught.message.includes('plan') && caught.remedy.includes('planFit')).toBe(true)
  })
})

describe('trainStep composes precision, accumulation and clipping', () => {
  /** Runs `n` batches through `step` from `state` (batch i's key and index), releasing as it goes. */
  const drive = (step: ReturnType<typeof trainStep<Params, Params, Batch>>, start: TrainState, batch: Batch, n: number, extra: object = {}) => {
    let state = start
    let lossScale = step.precision.initScale()
    const results: { stepped: boolean; gradsFinite: boolean; scale: number }[] = []
    for (let batchIdx = 0; batchIdx < n; batchIdx++) {
      const before = state
      const out = tidy(() => step(before, batch, { ...ctx, key: foldIn(ctx.key, batchIdx), batchIdx, lossScale, ...extra }))
      if (before !== start) releaseGeneration(before, out.state)
      disposeTree([out.loss, out.logs])
      results.push({ stepped: out.stepped, gradsFinite: out.gradsFinite, scale: out.lossScale.scale })
      state = out.state
      lossScale = out.lossScale
    }
    return { state, results }
  }

  it('its two halves, run apart (as data-parallel ranks run them), give exactly the whole step', () => {
    const step = trainStep(classifier, classifier.optimizer, { precision: '16-mixed', gradientClipVal: 0.5 })
    const { state, batch } = setup(step)
    const whole = tidy(() => step(state, batch, ctx))
    const halves = tidy(() => {
      const g = computeGradients(step, state, batch, ctx)
      return { ...applyGradients(step, state, g, ctx), loss: g.loss }
    })
    expect(valuesOf(halves.state)).toEqual(valuesOf(whole.state))
    expect(halves.loss.dataSync()[0]).toBe(whole.loss.dataSync()[0])
    expect(halves.lossScale).toEqual(whole.lossScale)
    disposeTree([whole, halves, state, batch])
  })

  it('accumulateGradBatches: 2 keeps the first batch\'s gradients and leaves the parameters alone, then steps on the sum', () => {
    const step = trainStep(classifier, optim.sgd({ lr: 0.1 }), { accumulateGradBatches: 2 })
    const { state, batch } = setup(step)
    const first = tidy(() => step(state, batch, ctx))
    expect(first.stepped).toBe(false)
    expect(valuesOf(first.state.params)).toEqual(valuesOf(state.params))
    expect(first.state.gradAccumulator).not.toBeNull()
    const second = tidy(() => step(first.state, batch, { ...ctx, batchIdx: 1 }))
    expect(second.stepped).toBe(true)
    expect(second.state.gradAccumulator).toBeNull()
    // SGD on the mean of two equal-keyed batches' gradients = one step on the batch (the loss is halved, summed twice)
    const once = tidy(() => trainStep(classifier, optim.sgd({ lr: 0.1 }))(state, batch, ctx))
    const worst = Math.max(...valuesOf(second.state.params).flatMap((leaf, i) => leaf.map((v, j) => Math.abs(v - (valuesOf(once.state.params)[i]?.[j] ?? NaN)))))
    expect(worst).toBeLessThan(1e-6)
    // ctx.optimizerStep closes a window early (an epoch's last batch)
    expect(tidy(() => step(state, batch, { ...ctx, optimizerStep: true })).stepped).toBe(true)
    disposeTree([first, second, once, state, batch])
  })

  it("'16-mixed': a step whose gradients overflow is skipped (parameters and optimizer state kept), and the scale it returns backs off, then grows", () => {
    const { state, batch } = setup()
    const step = trainStep(classifier, classifier.optimizer, { precision: '16-mixed', lossScaler: { initScale: 2 ** 40, growthInterval: 2 } })
    const first = tidy(() => step(state, batch, ctx))
    expect(first.gradsFinite).toBe(false)
    expect(first.stepped).toBe(true)
    expect(first.lossScale).toEqual({ scale: 2 ** 39, goodSteps: 0 })
    expect(valuesOf(first.state.params)).toEqual(valuesOf(state.params))
    expect(valuesOf(first.state.optState)).toEqual(valuesOf(state.optState))
    const { state: last, results } = drive(step, state, batch, 40)
    const firstGood = results.findIndex((r) => r.gradsFinite)
    expect(firstGood).toBeGreaterThan(0)
    // after two finite steps in a row the scale doubles
    expect(results[firstGood + 1]?.scale).toBe((results[firstGood - 1]?.scale ?? 0) * 2)
    disposeTree([first, state, batch])
    disposeTree(last)
  })

  it('is the composition of its transformers: withPrecision outermost, withAccumulation, skipNonFinite innermost, clipping in front of the optimizer', () => {
    const precision = resolvePrecision('16-mixed')
    const options = { gradientClipVal: 0.1 }
    const optimizer = clippedOptimizer(classifier.optimizer, options)
    const byHand = composeStep(baseStep(classifier, optimizer), withPrecision(precision), withAccumulation(2), skipNonFinite(precision.nextScale))
    const step = trainStep(classifier, classifier.optimizer, { precision, accumulateGradBatches: 2, ...options })
    const { state, batch } = setup(step)
    const stepCtx = { ...ctx, optimizerStep: true }
    const a = tidy(() => applyGradients(byHand, state, computeGradients(byHand, state, batch, stepCtx), stepCtx))
    const b = tidy(() => step(state, batch, stepCtx))
    expect(valuesOf(a.state)).toEqual(valuesOf(b.state))
    disposeTree([a, b, state, batch])
  })

  it('init builds the state fit starts from (the optimizer behind its clipping, rounded under a -true policy)', () => {
    const step = trainStep(classifier, classifier.optimizer, { precision: 'bf16-true', gradientClipVal: 1 })
    const state = tidy(() => step.init(classifier.init(key(0))))
    expect(Array.isArray(state.optState) && state.optState.length).toBe(2)
    for (const t of tensorsOf(state.params)) expect(Array.from(t.dataSync()).every((v) => Math.fround(v) === v && (new Uint32Array(Float32Array.of(v).buffer)[0] ?? 1) % 65536 === 0)).toBe(true)
    disposeTree(state)
  })

  it('rejects a precision it does not know and an accumulation count below 1, naming the field', () => {
    const failure = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e
      }
      return undefined
    }
    const bad = failure(() => trainStep(classifier, sgd, { precision: 'fp8' as never }))
    expect(isRxtrainError(bad) && bad.message).toMatch(/precision "fp8"/)
    expect((failure(() => trainStep(classifier, sgd, { accumulateGradBatches: 0 })) as Error).message).toMatch(/k/)
  })
})
