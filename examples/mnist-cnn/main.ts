/**
 * Train a small convolutional network on MNIST: `npm run example:cnn`.
 *
 * conv 3x3x32 -> max-pool -> conv 3x3x64 -> max-pool -> dense 10. Options as for the MLP:
 * --epochs N (default 1), --limit N, --accelerator auto|cpu|gpu|wasm|webgpu|tensorflow|tensorflow-gpu,
 * --precision 32-true|16-mixed|bf16-mixed|16-true|bf16-true, --seed N, and --devices N for
 * data-parallel training on N ranks (one per core: wasm runs one thread each).
 */
import { isMainThread } from 'node:worker_threads'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import {
  data,
  defineModule,
  disposeTree,
  effects,
  evalMetrics,
  fit,
  log,
  metrics,
  nn,
  optim,
  printMetrics,
  test,
  trainedModel,
} from '../../src/index.js'
import { exitOnError, parseExampleArgs } from '../shared/cli.js'

const net = nn.sequential(
  nn.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
  nn.maxPool2d({ poolSize: 2 }),
  nn.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  nn.maxPool2d({ poolSize: 2 }),
  nn.flatten(),
  nn.dropout(0.25),
  nn.dense({ units: 10 }),
)

export const cnn = defineModule({
  init: (key) => net.init(key, [28, 28, 1]),
  trainingStep: (model, batch: data.MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    const loss = nn.softmaxCrossEntropy(logits, batch.y)
    return { loss, logs: { 'train/loss': log(loss, { onEpoch: true, progBar: true }) } }
  },
  validationStep: (model, batch: data.MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { 'val/loss': metrics.crossEntropy(logits, batch.y), 'val/acc': metrics.accuracy(logits, batch.y) }
  },
  testStep: (model, batch: data.MnistBatch, ctx) => ({ 'test/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
  optimizer: optim.adamw({ lr: 2e-3, weightDecay: 1e-4 }),
  // Data-parallel workers (--devices 2) import this module from here.
  source: { url: import.meta.url, exportName: 'cnn' },
})

export const main = async (argv: readonly string[]): Promise<number> => {
  const args = parseExampleArgs(argv, { epochs: 1 })
  const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()
  if (E.isLeft(arrays)) throw arrays.left
  // The same digits as images: x is [batch, 28, 28, 1].
  const digits = data.mnistDataModule(arrays.right, { batchSize: 64, layout: 'image', ...(args.limit !== undefined && { limit: args.limit }) })

  const options = { maxEpochs: args.epochs, accelerator: args.accelerator, precision: args.precision, seed: args.seed }
  const strategy = args.devices > 1 ? { strategy: 'ddp' as const, devices: args.devices } : {}
  const model = await lastValueFrom(fit(cnn, digits, { ...options, ...strategy }).pipe(printMetrics(), trainedModel()))
  const result = await lastValueFrom(test(cnn, model, digits, options).pipe(evalMetrics()))
  const accuracy = result['test/acc'] ?? Number.NaN
  console.log(`test accuracy ${accuracy.toFixed(4)}`)
  disposeTree(model)
  return accuracy
}

// Not in a data-parallel worker, which imports this file for the module only.
if (isMainThread && import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2)).catch(exitOnError)
