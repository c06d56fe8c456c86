import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import { defineModule, disposeTree, fit, fromArrays, nn, optim, printMetrics, trainedModel } from 'rxtrain'

// 200 points of y = 3x - 1 with a little structure, as host arrays
const x = Float32Array.from({ length: 200 }, (_, i) => i / 200)
const y = Float32Array.from(x, (v) => 3 * v - 1)
const columns = { x: { data: x, shape: [1] }, y: { data: y, shape: [1] } }
const data = {
  train: fromArrays(columns, { batchSize: 20, shuffle: true }),
  val: fromArrays(columns, { batchSize: 50 }),
}
const line = nn.dense({ units: 1 })
const regression = defineModule({
  init: (key) => line.init(key, [1]),
  trainingStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => {
    const loss = nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y)
    return { loss, logs: { 'train/loss': loss } }
  },
  validationStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => ({ 'val/loss': nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.sgd({ lr: 0.5 }),
})

const model = await lastValueFrom(
  fit(regression, data, { maxEpochs: 20, valCheckInterval: 5, accelerator: 'cpu' }).pipe(
    tap((e) => { if (e.type === 'validationEnd' && e.epoch === 19) console.log('val/loss', e.metrics['val/loss']) }),
    printMetrics(),
    trainedModel(),  // a copy of the final variables that you own
  ),
)
console.log('kernel', (model.params.kernel as tf.Tensor).dataSync()[0]) // ≈ 3
disposeTree(model)
