// A module in a file without side effects: DDP's worker threads import it by URL.
import type * as tf from '@tensorflow/tfjs-core'
import { defineModule, nn, optim } from 'rxtrain'

const line = nn.dense({ units: 1 })
type Batch = { readonly x: tf.Tensor; readonly y: tf.Tensor }
export const regression = defineModule({
  init: (key) => line.init(key, [1]),
  trainingStep: (model, batch: Batch, ctx) => {
    const loss = nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y)
    return { loss, logs: { 'train/loss': loss } }
  },
  optimizer: optim.sgd({ lr: 0.5 }),
  source: { url: import.meta.url, exportName: 'regression' },
})
