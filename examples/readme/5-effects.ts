import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { defineModule, effects, fit, fromArrays, optim, startBackend } from 'rxtrain'

const backend = await startBackend('cpu')()
if (E.isLeft(backend)) throw backend.left
const clock = effects.manualClock(1_000)
const w = { data: new Float32Array([1, 2, 3, 4]), shape: [1] }
const module = defineModule({
  init: () => ({ params: { w: tf.scalar(0) }, state: {} }),
  trainingStep: (model, batch: { w: tf.Tensor }) => ({ loss: tf.mean(tf.square(tf.sub(batch.w, model.params.w))) as tf.Scalar }),
  optimizer: optim.sgd({ lr: 0.1 }),
})
const times: number[] = []
fit(module, { train: fromArrays({ w }, { batchSize: 2 }) }, { maxEpochs: 1 }, { backend: backend.right, clock, signals: effects.manualSignals() })
  .subscribe((e) => times.push(e.time))   // synchronous: done when subscribe returns
console.log(times.length, new Set(times).size) // 6 events, every one stamped 1000
