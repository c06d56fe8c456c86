// DDP from the installed package: the workers start from its compiled files and import ddpModel.js.
import type * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom } from 'rxjs'
import { disposeTree, fit, fromArrays, trainedModel } from 'rxtrain'
import { regression } from './ddpModel.js'

const x = Float32Array.from({ length: 64 }, (_, i) => i / 64)
const columns = { x: { data: x, shape: [1] }, y: { data: Float32Array.from(x, (v) => 3 * v - 1), shape: [1] } }
const model = await lastValueFrom(
  fit(regression, { train: fromArrays(columns, { batchSize: 16 }) }, { maxEpochs: 2, accelerator: 'wasm', strategy: 'ddp', devices: 2, seed: 1 }).pipe(trainedModel()),
)
const kernel = (model.params['kernel'] as tf.Tensor).dataSync()[0]
disposeTree(model)
console.log(JSON.stringify({ kernel }))
