import * as tf from '@tensorflow/tfjs-core'
import assert from 'node:assert/strict'
import { defineModule, disposeTree, key, nn, optim, tensorsOf, tidy, trainStep } from 'rxtrain'

const layer = nn.dense({ units: 2 })
const module = defineModule({
  init: (k) => layer.init(k, [3]),
  trainingStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => ({ loss: nn.meanSquaredError(layer.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.sgd({ lr: 0.1 }),
})

const model = module.init(key(0))
const state = { ...model, optState: module.optimizer.init(model.params) }
const batch = { x: tf.ones([4, 3]), y: tf.zeros([4, 2]) }
const ctx = { stage: 'train' as const, training: true, key: key(1), epoch: 0, batchIdx: 0, globalStep: 0 }

const step = trainStep(module, module.optimizer)
const a = tidy(() => step(state, batch, ctx))
const b = tidy(() => step(state, batch, ctx))
assert.deepEqual(a.loss.dataSync(), b.loss.dataSync())
assert.ok(tensorsOf([state, batch]).every((t) => !t.isDisposed))
disposeTree([a, b, state, batch])
