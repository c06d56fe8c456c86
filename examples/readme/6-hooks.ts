import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import {
  checkpoint,
  csvLogger,
  defineModule,
  disposeTree,
  earlyStopping,
  effects,
  exportLayersModel,
  fit,
  fromArrays,
  loadParams,
  metrics,
  nn,
  optim,
  tensorboard,
} from 'rxtrain'

// Three blobs in 4-D; everything is written to an in-memory file system.
const x = Float32Array.from({ length: 120 * 4 }, (_, i) => Math.sin(i * 1.3) + ((Math.floor(i / 4) % 3) - 1))
const y = Int32Array.from({ length: 120 }, (_, i) => i % 3)
const columns = { x: { data: x, shape: [4] }, y: { data: y, shape: [], dtype: 'int32' as const } }
const data = { train: fromArrays(columns, { batchSize: 16, shuffle: true }), val: fromArrays(columns, { batchSize: 40 }) }
const net = nn.sequential(nn.dense({ units: 16, activation: 'relu' }), nn.dense({ units: 3 }))
type Batch = { x: tf.Tensor; y: tf.Tensor }
const module = defineModule({
  init: (key) => net.init(key, [4]),
  trainingStep: (model, batch: Batch, ctx) => {
    const loss = nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y)
    return { loss, logs: { 'train/loss': loss } }
  },
  validationStep: (model, batch: Batch, ctx) => ({ 'val/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.adam({ lr: 0.02 }),
})

const fs = effects.memoryFileSystem()
const signals = effects.manualSignals()
const hooks = () =>
  [
    checkpoint({ monitor: 'val/acc', mode: 'max', saveTopK: 2, saveLast: true, filename: '{epoch}-{val/acc:.3f}' }),
    earlyStopping({ monitor: 'val/acc', mode: 'max', patience: 5 }),
    csvLogger(),
    tensorboard(),
  ] as const
const options = { maxEpochs: 20, defaultRootDir: '/runs/blobs' }

// Interrupt after 12 steps (as Ctrl-C would): the run saves `last` and ends with reason 'interrupted'.
const [c1, e1, l1, t1] = hooks()
const first = await lastValueFrom(
  fit(module, data, options, { fs, signals }).pipe(
    tap((e) => {
      if (e.type === 'trainStep' && e.globalStep === 12) signals.raise('SIGINT')
    }),
    c1, e1, l1, t1,
  ),
)
console.log(first.type === 'fitEnd' && first.reason) // 'interrupted'

// Resume exactly where it stopped, then keep the best weights and export them for tfjs.
const [c2, e2, l2, t2] = hooks()
const end = await lastValueFrom(fit(module, data, { ...options, ckptPath: 'last' }, { fs, signals }).pipe(c2, e2, l2, t2))
if (end.type === 'fitEnd') console.log(end.reason, end.stopReason) // early stopping, and why
const best = await loadParams('/runs/blobs/checkpoints/best', { fs })()
if (best._tag === 'Left') throw best.left
const saved = await exportLayersModel(fs, '/export/blobs', net, [4], best.right)()
console.log(saved._tag, [...fs.files.keys()].filter((p) => p.startsWith('/export'))) // model.json + weights
disposeTree(best.right)
