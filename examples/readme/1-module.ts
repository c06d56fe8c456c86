import * as tf from '@tensorflow/tfjs-core'
import { defineModule, log, metrics, nn, optim } from 'rxtrain'

type Batch = { x: tf.Tensor; y: tf.Tensor }
const net = nn.sequential(nn.dense({ units: 16, activation: 'relu' }), nn.dropout(0.1), nn.dense({ units: 3 }))

export const classifier = defineModule({
  init: (key) => net.init(key, [4]),
  trainingStep: (model, batch: Batch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    const loss = nn.softmaxCrossEntropy(logits, batch.y)
    // train/loss is logged per step and as an epoch mean; train/acc only per epoch (exact, see metrics)
    return { loss, logs: { 'train/loss': log(loss, { onEpoch: true }), 'train/acc': log(metrics.accuracy(logits, batch.y), { onStep: false, onEpoch: true }) } }
  },
  validationStep: (model, batch: Batch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { 'val/loss': metrics.crossEntropy(logits, batch.y), 'val/acc': metrics.accuracy(logits, batch.y) }
  },
  optimizer: optim.adam({ lr: 1e-2 }),
})
