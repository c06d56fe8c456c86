// A user's program, compiled against the packed tarball in a fresh project (test/package/consumer.test.ts):
// strict TypeScript, NodeNext resolution, no skipLibCheck. A few fit steps with a checkpoint and loggers.
import * as tf from '@tensorflow/tfjs-core'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lastValueFrom } from 'rxjs'
import { checkpoint, csvLogger, defineModule, disposeTree, fit, fromArrays, nn, optim, tensorboard, trainedModel } from 'rxtrain'

const root = mkdtempSync(join(tmpdir(), 'rxtrain-consumer-'))
const x = Float32Array.from({ length: 64 }, (_, i) => i / 64)
const y = Float32Array.from(x, (v) => 3 * v - 1)
const columns = { x: { data: x, shape: [1] }, y: { data: y, shape: [1] } }
const line = nn.dense({ units: 1 })
type Batch = { readonly x: tf.Tensor; readonly y: tf.Tensor }
const regression = defineModule({
  init: (key) => line.init(key, [1]),
  trainingStep: (model, batch: Batch, ctx) => {
    const loss = nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y)
    return { loss, logs: { 'train/loss': loss } }
  },
  validationStep: (model, batch: Batch, ctx) => ({ 'val/loss': nn.meanSquaredError(line.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.sgd({ lr: 0.5 }),
})

const model = await lastValueFrom(
  fit(regression, { train: fromArrays(columns, { batchSize: 16 }), val: fromArrays(columns, { batchSize: 32 }) }, { maxEpochs: 2, defaultRootDir: root, accelerator: 'wasm', seed: 1 }).pipe(
    checkpoint({ monitor: 'val/loss', saveLast: true }),
    csvLogger(),
    tensorboard(),
    trainedModel(),
  ),
)
const kernel = (model.params['kernel'] as tf.Tensor).dataSync()[0]
disposeTree(model)
const rows = readFileSync(join(root, 'metrics.csv'), 'utf8').trim().split('\n')
console.log(JSON.stringify({ root, kernel, csvRows: rows.length, checkpoints: readdirSync(join(root, 'checkpoints')).sort(), files: readdirSync(root).sort() }))
