import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { type data, defineModule, fromArrays, type Model, nn, optim, type Params } from '../src/index.js'

type Columns = data.Columns
type MnistArrays = data.MnistArrays

/** A benchmark workload: a network, its input, its batch size, and how to build the same model in tfjs-layers. */
export interface Workload {
  readonly name: 'mlp' | 'cnn'
  readonly net: nn.SequentialLayer
  readonly inputShape: readonly number[]
  readonly batchSize: number
  readonly lr: number
  layersModel(): tfl.Sequential
}

export const mlp: Workload = {
  name: 'mlp',
  net: nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 })),
  inputShape: [784],
  batchSize: 128,
  lr: 1e-3,
  layersModel: () =>
    tfl.sequential({ layers: [tfl.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }), tfl.layers.dense({ units: 10, activation: 'softmax' })] }),
}

export const cnn: Workload = {
  name: 'cnn',
  net: nn.sequential(
    nn.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2 }),
    nn.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2 }),
    nn.flatten(),
    nn.dense({ units: 10 }),
  ),
  inputShape: [28, 28, 1],
  batchSize: 64,
  lr: 1e-3,
  layersModel: () =>
    tfl.sequential({
      layers: [
        tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    }),
}

export type Batch = { x: tf.Tensor; y: tf.Tensor }

/**
 * `adam`: tf.train.adam in (a) and rxtrain's Adam with `biasCorrection: 'float32'` (tf.train.adam's
 * arithmetic) elsewhere, so that both compute the same numbers; `adamOps` the same with `fused:
 * false` (one tfjs op per operation, tf.train.adam's kernels). `adam64`: Adam with its bias
 * corrections in float64 (rxtrain's default; in the hand loop, tf.train.adam's update rewritten).
 */
export type OptimizerName = 'adam' | 'adamOps' | 'sgd' | 'adam64'

/** The module rxtrain trains (the loss is the same function the hand-written loop uses). */
export const moduleOf = (w: Workload, optimizer: OptimizerName = 'adam') =>
  defineModule({
    init: (key) => w.net.init(key, w.inputShape),
    trainingStep: (model, batch: Batch, ctx) => {
      const loss = nn.softmaxCrossEntropy(w.net.apply(model, batch.x, ctx).y, batch.y)
      return { loss, logs: { 'train/loss': loss } }
    },
    optimizer:
      optimizer === 'sgd'
        ? optim.sgd({ lr: 0.05 })
        : optim.adam({ lr: w.lr, ...(optimizer !== 'adam64' && { biasCorrection: 'float32' as const }), ...(optimizer === 'adamOps' && { fused: false }) }),
  })

/** The first `n` training digits as columns shaped for the workload. */
export const columnsOf = (w: Workload, arrays: MnistArrays, n: number): Columns => ({
  x: { data: arrays.train.images.subarray(0, n * 784), shape: [...w.inputShape], scale: 1 / 255 },
  y: { data: arrays.train.labels.subarray(0, n), shape: [], dtype: 'int32' },
})

/**
 * The same data in natural order for every method, so the final losses can be compared; its batches
 * are built in a worker thread (`workers: 1`) for every method, the hand-written loop's included.
 */
export const sourceOf = (w: Workload, arrays: MnistArrays, steps: number) => fromArrays(columnsOf(w, arrays, steps * w.batchSize), { batchSize: w.batchSize, workers: 1 })

/**
 * (a) The hand-written tfjs loop: tf.train.adam and minimize over tf.variables, the same forward
 * and loss functions, the same batches, the loss read back every step (as a loop that logs does).
 */
export const handLoop = (w: Workload, initial: Model, arrays: MnistArrays, steps: number, optimizerName: OptimizerName = 'adam'): number => {
  const leaves: tf.Variable[] = []
  const toVariables = (p: Params): Params =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v instanceof tf.Tensor ? (leaves.push(tf.variable(v)), leaves.at(-1) as tf.Variable) : toVariables(v)]))
  const params = toVariables(initial.params)
  const optimizer = optimizerName === 'adam' ? tf.train.adam(w.lr, 0.9, 0.999, 1e-8) : optimizerName === 'sgd' ? tf.train.sgd(0.05) : adam64(w.lr)
  const it = sourceOf(w, arrays, steps).open({ key: [0, 0] as never })
  let loss = Number.NaN
  const ctx = { training: true, key: [0, 0] as never }
  for (let s = 0; s < steps; s++) {
    const r = it.next() as IteratorResult<Batch, undefined>
    if (r.done === true) break
    const { x, y } = r.value
    const cost = optimizer.minimize(() => nn.softmaxCrossEntropy(w.net.apply({ params, state: {} }, x, ctx).y, y), true) as tf.Scalar
    loss = cost.dataSync()[0] as number
    tf.dispose([cost, x, y])
  }
  tf.dispose(leaves)
  optimizer.dispose()
  return loss
}

/**
 * tf.train.adam's update, op for op, except that the bias corrections 1 - beta^t are computed in
 * float64 on the host (tf.train.adam multiplies float32 powers step by step). Shows that this one
 * difference is all that separates (a)'s and (c)'s losses with Adam.
 */
const adam64 = (lr: number) => {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8]
  const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>()
  let t = 0
  return {
    minimize: (f: () => tf.Scalar, _returnCost: boolean): tf.Scalar => {
      const { value, grads } = tf.variableGrads(f)
      t++
      tf.tidy(() => {
        for (const [name, g] of Object.entries(grads)) {
          const variable = tf.engine().registeredVariables[name] as tf.Variable
          const old = moments.get(name) ?? { m: tf.zerosLike(g), v: tf.zerosLike(g) }
          const m = tf.keep(tf.add(tf.mul(old.m, b1), tf.mul(g, 1 - b1)))
          const v = tf.keep(tf.add(tf.mul(old.v, b2), tf.mul(tf.square(g), 1 - b2)))
          tf.dispose([old.m, old.v])
          moments.set(name, { m, v })
          const update = tf.div(tf.div(m, 1 - b1 ** t), tf.add(tf.sqrt(tf.div(v, 1 - b2 ** t)), eps))
          variable.assign(tf.add(variable, tf.mul(update, -lr)))
        }
      })
      tf.dispose(Object.values(grads))
      return value
    },
    dispose: () => moments.forEach(({ m, v }) => tf.dispose([m, v])),
  }
}

/** (b) tfjs-layers: the same network, `model.fit` on the same batches (data made up front, not timed). */
export const layersFit = async (w: Workload, arrays: MnistArrays, steps: number): Promise<{ seconds: number; loss: number }> => {
  const model = w.layersModel()
  model.compile({ optimizer: tf.train.adam(w.lr), loss: 'sparseCategoricalCrossentropy' })
  const n = steps * w.batchSize
  const x = tf.tidy(() => tf.mul(tf.tensor(Float32Array.from(arrays.train.images.subarray(0, n * 784)), [n, ...w.inputShape]), 1 / 255))
  const y = tf.tensor(Float32Array.from(arrays.train.labels.subarray(0, n)), [n])
  const start = performance.now()
  const history = await model.fit(x, y, { batchSize: w.batchSize, epochs: 1, shuffle: false, verbose: 0 })
  const seconds = (performance.now() - start) / 1000
  tf.dispose([x, y])
  model.dispose()
  return { seconds, loss: Number(history.history.loss?.at(-1)) }
}

/** The workloads' modules, exported by name so that data-parallel workers can import them. */
export const mlpModule = { ...moduleOf(mlp), source: { url: import.meta.url, exportName: 'mlpModule' } }
export const cnnModule = { ...moduleOf(cnn), source: { url: import.meta.url, exportName: 'cnnModule' } }

/** The workload's module with its source, for `strategy: 'ddp'`. */
export const moduleWithSource = (w: Workload) => (w.name === 'mlp' ? mlpModule : cnnModule)
