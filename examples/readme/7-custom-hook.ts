import * as tf from '@tensorflow/tfjs-core'
import * as t from 'io-ts'
import { asyncScheduler, lastValueFrom, observeOn } from 'rxjs'
import { defineModule, type FitEvent, fit, fromArrays, hook, nn, optim, stop } from 'rxtrain'

/** Stops once the training loss has stayed below `target` for `times` steps in a row. */
const stopWhenBelow = (target: number, times: number) =>
  hook<number, FitEvent>({
    kind: 'stopWhenBelow',
    on: ['trainStep'], // the only events it acts on: the run waits for it on these alone
    codec: t.number, // its state (the streak) is saved in checkpoints and restored on resume
    init: () => 0,
    step: (streak, e) => {
      if (e.type !== 'trainStep') return [streak]
      const next = e.loss < target ? streak + 1 : 0
      return next === times ? [next, [stop(`loss below ${target} for ${times} steps`)]] : [next]
    },
  })

const x = Float32Array.from({ length: 64 }, (_, i) => i / 64)
const columns = { x: { data: x, shape: [1] }, y: { data: Float32Array.from(x, (v) => 2 * v + 1), shape: [1] } }
const line = nn.dense({ units: 1 })
const module = defineModule({
  init: (key) => line.init(key, [1]),
  trainingStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => ({ loss: nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.adam({ lr: 0.05 }),
})

// An asynchronous operator before the hook changes nothing: the loop waits for the hook's answer.
const end = await lastValueFrom(
  fit(module, { train: fromArrays(columns, { batchSize: 8, shuffle: true }) }, { maxEpochs: 500, accelerator: 'cpu' }).pipe(observeOn(asyncScheduler), stopWhenBelow(0.001, 3)),
)
if (end.type === 'fitEnd') console.log(end.reason, end.stopReason) // stopRequested loss below 0.001 for 3 steps
