import * as tf from '@tensorflow/tfjs-core'
import { optim, tidy } from 'rxtrain'

const schedule = optim.warmupCosineDecay({ peak: 1e-3, warmupSteps: 100, decaySteps: 1000 })
const optimizer = optim.chain(
  optim.clipByGlobalNorm(1),                 // clip first
  optim.applyIfFinite(optim.adamw({ lr: schedule, weightDecay: 0.01 })), // skip NaN/Inf steps
)

// A transform is two pure functions; one update step by hand:
const params = { w: tf.tensor1d([1, 2]) }
const state = optimizer.init(params)
const [updates, next] = tidy(() => optimizer.update({ w: tf.tensor1d([0.5, -0.5]) }, state, params))
console.log(schedule(100), optim.applyUpdates(params, updates).w.arraySync(), optimizer.hyperparams?.(next))
