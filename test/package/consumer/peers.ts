// Optional peers that a default install leaves out: each feature that needs one names the package.
import { lastValueFrom } from 'rxjs'
import { data, defineModule, effects, fit, fromArrays, nn, optim } from 'rxtrain'

const line = nn.dense({ units: 1 })
const module = defineModule({
  init: (key) => line.init(key, [1]),
  trainingStep: (model, batch: { x: import('@tensorflow/tfjs-core').Tensor; y: import('@tensorflow/tfjs-core').Tensor }, ctx) => ({
    loss: nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y),
  }),
  optimizer: optim.sgd({ lr: 0.1 }),
})
const columns = { x: { data: new Float32Array(8), shape: [1] }, y: { data: new Float32Array(8), shape: [1] } }
const webgpu = await lastValueFrom(fit(module, { train: fromArrays(columns, { batchSize: 4 }) }, { maxEpochs: 1, accelerator: 'webgpu' })).then(
  () => 'trained',
  (e: unknown) => String((e as { message?: unknown }).message ?? e),
)
const mnist = await data.loadMnistPackage(effects.nodeFileSystem)()
console.log(JSON.stringify({ webgpu, mnist: mnist._tag === 'Left' ? mnist.left.message : 'loaded' }))
