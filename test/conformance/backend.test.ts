/**
 * The backend conformance suite: layers (forward and gradients), every optimizer and a short
 * `fit`, each run on the backend under test and on `cpu`, agreeing within stated tolerances.
 *
 *   RXTRAIN_BACKEND=webgpu npm run test:backend      # one backend
 *   RXTRAIN_BACKEND=cpu,wasm,webgpu npm test          # what CI runs
 *
 * Without RXTRAIN_BACKEND the suite runs on cpu and wasm, and on webgpu when it initialises here
 * (it needs Mesa's llvmpipe on a machine without a GPU; see the README). A backend named in
 * RXTRAIN_BACKEND that does not initialise fails the suite.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { tap } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { startBackend } from '../../src/backends/accelerator.js'
import type { Backend, BackendName } from '../../src/backends/backend.js'
import { agreement, type Tolerance } from '../../src/backends/compareBackends.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { nn, optim } from '../../src/index.js'
import type { Layer } from '../../src/nn/layer.js'
import type { GradientTransform } from '../../src/optim/transform.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { foldIn, key } from '../../src/random/key.js'
import { normal } from '../../src/random/sample.js'
import { disposeTree, flattenParams, type StateTree, unflattenParams } from '../../src/tree/tree.js'
import { quiet } from '../support/backend.js'

const requested = process.env.RXTRAIN_BACKEND
const names = (requested ?? 'cpu,wasm,webgpu').split(',').map((s) => s.trim()) as BackendName[]

/** Each backend under test, or why it did not initialise. */
const backends = new Map<BackendName, Backend | string>()
const cpuResult = await startBackend('cpu')()
if (E.isLeft(cpuResult)) throw cpuResult.left
const cpu = cpuResult.right
for (const name of names) {
  const r = await startBackend(name)()
  backends.set(name, E.isRight(r) ? r.right : r.left.message)
}
cpu.activate()

/** Tolerances against cpu: float32 kernels that sum in another order differ in the last bits. */
const forward: Tolerance = { atol: 1e-5, rtol: 1e-4 }
const updates: Tolerance = { atol: 1e-5, rtol: 1e-4 }
const training: Tolerance = { atol: 2e-4, rtol: 2e-3 }

const randn = (seed: number, shape: number[]) => tf.tensor(normal(key(seed), shape.reduce((a, b) => a * b, 1)), shape)

/** A layer's output and the gradients of a fixed random projection of it, w.r.t. its input and variables. */
const layerCase = (layer: Layer, inputShape: number[], training = false, x: () => tf.Tensor = () => randn(1, [4, ...inputShape])) => () => {
  const { params, state } = layer.init(key(7), inputShape)
  const input = x()
  const ctx = { training, key: key(3) }
  const y = layer.apply({ params, state }, input, ctx).y
  const weights = randn(11, y.shape)
  const leaves = flattenParams(params).map((l) => l.tensor)
  const differentiable = input.dtype === 'float32'
  const grads = tf.grads((...vs: tf.Tensor[]) => {
    const [xIn, ...p] = differentiable ? vs : [input, ...vs]
    return tf.sum(tf.mul(layer.apply({ params: unflattenParams(params, p), state }, xIn as tf.Tensor, ctx).y, weights))
  })(differentiable ? [input, ...leaves] : leaves)
  return { y, grads }
}

const layerCases: [string, () => unknown][] = [
  ['dense + relu', layerCase(nn.dense({ units: 5, activation: 'relu' }), [6])],
  ['dense + gelu', layerCase(nn.dense({ units: 5, activation: 'gelu' }), [6])],
  ['dense + tanh, sigmoid, softmax', layerCase(nn.sequential(nn.dense({ units: 5, activation: 'tanh' }), nn.dense({ units: 4, activation: 'sigmoid' }), nn.dense({ units: 3, activation: 'softmax' })), [6])],
  ['conv2d same', layerCase(nn.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), [6, 6, 2])],
  ['conv2d valid, stride 2', layerCase(nn.conv2d({ filters: 3, kernelSize: 3, strides: 2 }), [7, 7, 2])],
  ['maxPool2d', layerCase(nn.maxPool2d({ poolSize: 2 }), [6, 6, 2])],
  ['avgPool2d', layerCase(nn.avgPool2d({ poolSize: 2 }), [6, 6, 2])],
  ['batchNorm (training)', layerCase(nn.batchNorm(), [5], true)],
  ['layerNorm', layerCase(nn.layerNorm(), [5])],
  ['embedding', layerCase(nn.embedding({ vocabSize: 9, dim: 4 }), [3], false, () => tf.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 0], [1, 1, 2]], [4, 3], 'int32'))],
  ['dropout (training)', layerCase(nn.dropout(0.3), [10], true)],
  ['flatten + dense', layerCase(nn.sequential(nn.flatten(), nn.dense({ units: 3 })), [3, 3, 2])],
]

const lossCases: [string, () => unknown][] = [
  ['softmax cross-entropy and its gradient', () => {
    const logits = randn(4, [6, 5])
    const labels = tf.tensor([0, 1, 2, 3, 4, 0], [6], 'int32')
    return tf.valueAndGrad((l: tf.Tensor) => nn.softmaxCrossEntropy(l, labels))(logits)
  }],
  ['mean squared error and huber', () => {
    const a = randn(5, [8])
    const b = randn(6, [8])
    return [nn.meanSquaredError(a, b), nn.huberLoss(a, b)]
  }],
]

const optimizers: [string, GradientTransform<StateTree>][] = [
  ['sgd', optim.sgd({ lr: 0.1 })],
  ['sgd momentum nesterov', optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true })],
  ['adam', optim.adam({ lr: 0.01 })],
  ['adamw', optim.adamw({ lr: 0.01, weightDecay: 0.1 })],
  ['rmsprop centered momentum', optim.rmsprop({ lr: 0.01, momentum: 0.9, centered: true })],
  ['clip + adam', optim.chain(optim.clipByGlobalNorm(0.5), optim.adam({ lr: 0.01 })) as GradientTransform<StateTree>],
] as [string, GradientTransform<StateTree>][]

/** Five updates of a parameter tree with a fixed gradient sequence. */
const optimizerCase = (opt: GradientTransform<StateTree>) => () => {
  let params = { a: randn(20, [3, 4]), b: { c: randn(21, [5]) } }
  let state = opt.init(params)
  for (let step = 0; step < 5; step++) {
    const grads = { a: randn(30 + step, [3, 4]), b: { c: randn(40 + step, [5]) } }
    const [u, next] = opt.update(grads, state, params)
    params = { a: tf.add(params.a, (u as typeof params).a), b: { c: tf.add(params.b.c, (u as typeof params).b.c) } }
    state = next
  }
  return { params, state }
}

/** A 30-step Adam fit of a small MLP with batch norm and dropout on generated data. */
const fitCase = (backend: Backend) => async () => {
  const net = nn.sequential(nn.dense({ units: 16, activation: 'relu' }), nn.batchNorm(), nn.dropout(0.1), nn.dense({ units: 3 }))
  const module = defineModule({
    init: (k) => net.init(k, [4]),
    trainingStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => {
      const out = net.apply(model, batch.x, ctx)
      return { loss: nn.softmaxCrossEntropy(out.y, batch.y), state: out.state }
    },
    optimizer: optim.adam({ lr: 0.01 }),
  })
  const n = 240
  const x = normal(foldIn(key(5), 1), n * 4)
  const y = Int32Array.from({ length: n }, (_, i) => ((x[i * 4] as number) > 0 ? 1 : 0) + ((x[i * 4 + 1] as number) > 0.5 ? 1 : 0))
  const data = { train: fromArrays({ x: { data: x, shape: [4] }, y: { data: y, shape: [], dtype: 'int32' } }, { batchSize: 24, shuffle: true }) }
  const model = await new Promise<import('../../src/nn/layer.js').Model>((resolve, reject) =>
    fit(module, data, { maxEpochs: 3, seed: 2 }, { backend, signals: quiet }).pipe(trainedModel()).subscribe({ next: resolve, error: reject }),
  )
  const leaves = flattenParams(model.params)
  const read = await Promise.all(leaves.map((l) => l.tensor.data()))
  const values = new Map(leaves.map((l, i) => [l.path, Float32Array.from(read[i] as Float32Array)]))
  disposeTree(model)
  return values
}

/**
 * A 2-epoch fit of a small MLP whose decisions are taken on the device where the backend cannot
 * read synchronously: `'16-mixed'` (float16 rounding, loss scaling, skipped overflowing steps) or
 * `applyIfFinite` with one batch of NaN inputs (its update skipped). Trained parameters by path.
 */
const decidedFitCase = (backend: Backend, precision: '16-mixed' | '32-true', optimizer: () => GradientTransform<StateTree>) => async () => {
  const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dense({ units: 3 }))
  const module = defineModule({
    init: (k) => net.init(k, [4]),
    trainingStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => {
      const out = net.apply(model, batch.x, ctx)
      return { loss: nn.softmaxCrossEntropy(out.y, batch.y), state: out.state }
    },
    optimizer: optimizer(),
  })
  const n = 96
  const x = normal(foldIn(key(6), 1), n * 4)
  const y = Int32Array.from({ length: n }, (_, i) => ((x[i * 4] as number) > 0 ? 1 : 0) + ((x[i * 4 + 1] as number) > 0.5 ? 1 : 0))
  // applyIfFinite: the third batch's inputs are NaN, so its gradients (and loss) are.
  if (precision === '32-true') x.fill(Number.NaN, 2 * 16 * 4, 3 * 16 * 4)
  // '16-mixed': the third batch's inputs are large, so its scaled float16 gradients overflow (the step is skipped, the scale backs off).
  else for (let i = 2 * 16 * 4; i < 3 * 16 * 4; i++) x[i] = (x[i] as number) * 1e4
  const data = { train: fromArrays({ x: { data: x, shape: [4] }, y: { data: y, shape: [], dtype: 'int32' } }, { batchSize: 16 }) }
  let skipped = 0
  const model = await new Promise<import('../../src/nn/layer.js').Model>((resolve, reject) =>
    fit(module, data, { maxEpochs: 2, seed: 3, precision }, { backend, signals: quiet })
      .pipe(
        tap((e) => {
          if (e.type === 'trainStep' && e.stepSkipped) skipped++
        }),
        trainedModel(),
      )
      .subscribe({ next: resolve, error: reject }),
  )
  const leaves = flattenParams(model.params)
  const read = await Promise.all(leaves.map((l) => l.tensor.data()))
  const values = new Map(leaves.map((l, i) => [l.path, Float32Array.from(read[i] as Float32Array)]))
  disposeTree(model)
  return { values, skipped }
}

const decidedFits: [string, '16-mixed' | '32-true', () => GradientTransform<StateTree>][] = [
  ["precision '16-mixed' with Adam", '16-mixed', () => optim.adam({ lr: 0.01 }) as GradientTransform<StateTree>],
  ['applyIfFinite(adam) over a NaN batch', '32-true', () => optim.applyIfFinite(optim.adam({ lr: 0.01 })) as GradientTransform<StateTree>],
]

for (const name of names) {
  const backend = backends.get(name)
  const available = typeof backend !== 'string'
  // Only the default run passes over webgpu when it cannot start here; a named backend must start.
  const describeIf = available || requested !== undefined ? describe : describe.skip
  describeIf(`backend conformance: ${name} against cpu${available ? '' : ` (did not initialise: ${backend})`}`, () => {
    const under = (): Backend => {
      if (typeof backend === 'string' || backend === undefined) throw new Error(`the ${name} backend did not initialise: ${backend}`)
      return backend
    }
    const check = async (compute: () => unknown, tolerance: Tolerance) => {
      const before = tf.memory().numTensors
      const a = await agreement(under(), cpu, compute, tolerance)
      expect(tf.memory().numTensors).toBe(before)
      expect(a.worst, `max |diff| ${a.maxAbsDiff}`).toEqual([])
      return a
    }

    it.each(layerCases)('layer %s: forward and gradients', async (_, compute) => {
      await check(compute, forward)
    })
    it.each(lossCases)('%s', async (_, compute) => {
      await check(compute, forward)
    })
    it.each(optimizers)('optimizer %s: five updates', async (_, opt) => {
      await check(optimizerCase(opt), updates)
    })
    it('a short fit ends within tolerance of cpu', async () => {
      const got = await fitCase(under())()
      const expected = await fitCase(cpu)()
      expect([...got.keys()]).toEqual([...expected.keys()])
      for (const [path, values] of expected) {
        const other = got.get(path) as Float32Array
        values.forEach((v, i) => {
          expect(Math.abs(v - (other[i] as number)), `${path}[${i}]`).toBeLessThanOrEqual(training.atol + training.rtol * Math.abs(v))
        })
      }
    })
    it.each(decidedFits)('a short fit, %s, ends within tolerance of cpu', async (_, precision, optimizer) => {
      const before = tf.memory().numTensors
      const got = await decidedFitCase(under(), precision, optimizer)()
      const expected = await decidedFitCase(cpu, precision, optimizer)()
      expect(tf.memory().numTensors).toBe(before)
      expect(got.skipped).toBe(expected.skipped)
      if (precision === '16-mixed') expect(expected.skipped).toBeGreaterThan(0)
      expect([...got.values.keys()]).toEqual([...expected.values.keys()])
      for (const [path, values] of expected.values) {
        const other = got.values.get(path) as Float32Array
        values.forEach((v, i) => {
          expect(Math.abs(v - (other[i] as number)), `${path}[${i}]`).toBeLessThanOrEqual(training.atol + training.rtol * Math.abs(v))
        })
      }
    })
  })
}
