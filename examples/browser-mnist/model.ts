/**
 * The browser example's run, platform-neutral: the page (main.ts) trains with it in a tab, and
 * Node tests run the very same function on the same data to compare the parameters bit for bit.
 * Nothing here touches the page, the file system or the backend by itself: the environment
 * (file system, signals, console, terminal, backend) comes in as an argument.
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Observable } from 'rxjs'
import { sha256 } from '../../src/checkpoint/manifest.js'
import {
  checkpoint,
  csvLogger,
  data,
  defineModule,
  type FitEvent,
  fit,
  flattenParams,
  jsonlLogger,
  key,
  log,
  metrics,
  type Model,
  nn,
  optim,
  type Params,
  type RunEnv,
  tensorboard,
} from '../../src/index.js'

/** Where the page's run writes: checkpoints/, metrics.csv, metrics.jsonl, TensorBoard events. */
export const RUN_DIR = 'runs/browser-mnist'

/** Examples per batch, and how often (in optimizer steps) the run saves `last` besides stops and epoch ends. */
export const BATCH_SIZE = 128
export const SAVE_EVERY_N_STEPS = 50
/** The learning rate decays (cosine, to 5%) over 3 epochs of 430 steps, then stays there. */
export const DECAY_STEPS = 1290

/** 784 -> 256 (ReLU) -> 10 logits: the network of examples/mnist-mlp, shared by training and the canvas. */
export const net = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 }))

/**
 * The MNIST MLP of examples/mnist-mlp (Adam, cosine-decayed learning rate), written out here
 * because that example's train.ts also holds its Node command line.
 */
export const mlp = defineModule({
  init: (key) => net.init(key, [784]),
  trainingStep: (model, batch: data.MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    const loss = nn.softmaxCrossEntropy(logits, batch.y)
    return {
      loss,
      logs: {
        'train/loss': log(loss, { onStep: true, onEpoch: true }),
        'train/acc': log(metrics.accuracy(logits, batch.y), { onStep: true, onEpoch: true }),
      },
    }
  },
  validationStep: (model, batch: data.MnistBatch, ctx) => {
    const logits = net.apply(model, batch.x, ctx).y
    return { 'val/loss': metrics.crossEntropy(logits, batch.y), 'val/acc': metrics.accuracy(logits, batch.y) }
  },
  // Unlike examples/mnist-mlp, the schedule is sized once (3 epochs) rather than from the plan, so
  // that stopping at any step and resuming with another maxSteps trains exactly as one run would.
  optimizer: optim.adam({ lr: optim.cosineDecay({ init: 2e-3, decaySteps: DECAY_STEPS, alpha: 0.05 }) }),
})

/** What a browser run does; the same values give the same parameters in Node and in a page. */
export interface BrowserRunOptions {
  /** The MNIST bytes: `data.loadMnist(effects.fetchFileSystem('/mnist'), '.')` in a page, `data.loadMnistPackage` in Node. */
  readonly arrays: data.MnistArrays
  /** Stop after this many optimizer steps (default: none, the epochs decide). */
  readonly maxSteps?: number
  /** Default 3 (an epoch is 430 steps of 128 digits). */
  readonly maxEpochs?: number
  /** Go on from `<dir>/checkpoints/last` (it must exist: see `hasLast`). */
  readonly resume?: boolean
  /** Default 0. */
  readonly seed?: number
  /** Default `RUN_DIR`. */
  readonly dir?: string
  /** Validate every this many training batches (default 100: the charts get validation points while an epoch runs). */
  readonly valCheckInterval?: number
}

/**
 * Trains the MLP on wasm: the loop plus checkpoint (`last` every `SAVE_EVERY_N_STEPS` steps, at
 * each validation and on a stop), CSV, JSONL and TensorBoard logs, all in `env.fs` under `dir`.
 * Hooks piped after it (a progress bar, the page's charts) use the same environment.
 */
export const browserRun = (env: Partial<RunEnv>, o: BrowserRunOptions): Observable<FitEvent> => {
  const dir = o.dir ?? RUN_DIR
  const digits = data.mnistDataModule(o.arrays, { batchSize: BATCH_SIZE, layout: 'flat', workers: 0 })
  const options = {
    accelerator: 'wasm' as const,
    seed: o.seed ?? 0,
    maxEpochs: o.maxEpochs ?? 3,
    ...(o.maxSteps !== undefined && { maxSteps: o.maxSteps }),
    valCheckInterval: o.valCheckInterval ?? 100,
    limitValBatches: 20,
    logEveryNSteps: 10,
    defaultRootDir: dir,
    ...(o.resume === true && { ckptPath: 'last' }),
  }
  return fit(mlp, digits, options, env).pipe(
    checkpoint({ saveLast: true, saveTopK: 0, everyNTrainSteps: SAVE_EVERY_N_STEPS }),
    csvLogger(),
    jsonlLogger({ flushEvery: 1 }),
    tensorboard(),
  )
}

/** The file that says a run has a `last` checkpoint to resume from. */
export const lastPointer = (dir: string = RUN_DIR): string => `${dir}/checkpoints/last.json`

/**
 * A fingerprint of the parameters: sha256 (hex) over every tensor's bytes in `flattenParams`
 * order. Equal digests mean bitwise-equal parameters (reads synchronously: cpu or wasm).
 */
export const paramsDigest = (params: Params): string => {
  const parts = flattenParams(params).map(({ tensor }) => {
    const v = tensor.dataSync()
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  })
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.byteLength
  }
  return sha256(all)
}

/** The digit probabilities for one 28x28 image (784 values in [0, 1], row by row), dropout off. */
export const predictDigit = (model: Model, pixels: ArrayLike<number>): number[] => {
  if (pixels.length !== 784) throw new Error(`predictDigit: expected 784 pixels (28x28), got ${pixels.length}`)
  const probs = tf.tidy(() => tf.softmax(net.apply(model, tf.tensor2d(Array.from(pixels), [1, 784]), { training: false, key: key(0) }).y))
  const out = Array.from(probs.dataSync())
  probs.dispose()
  return out
}
