// The run of run.yaml as a TypeScript config: npm run rxtrain -- fit --config examples/mnist-mlp/rxtrain.config.ts
// (in your project: import { defineConfig } from 'rxtrain'). Module paths are relative to this file.
import { defineConfig } from '../../src/index.js'

export default defineConfig({
  name: 'mnist-mlp',
  model: { module: './train.ts', export: 'mlpOf', args: { hidden: 256, lr: 0.002 } },
  data: { module: '../shared/mnistData.ts', export: 'mnist', args: { batchSize: 128, layout: 'flat' } },
  trainer: { maxEpochs: 3, accelerator: 'auto', precision: '32-true', seed: 0 },
  hooks: [
    'modelSummary',
    'lrMonitor',
    { checkpoint: { monitor: 'val/loss', mode: 'min', saveTopK: 2, saveLast: true, filename: '{epoch}-{step}-{val/loss:.4f}' } },
    'tensorboard',
    'csvLogger',
    'progressBar',
  ],
  test: { ckptPath: 'best' },
})
