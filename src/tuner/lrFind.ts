import { concatMap, defaultIfEmpty, defer, filter, from, last, map, type Observable, scan, takeWhile, throwError } from 'rxjs'
import type { DataModule } from '../data/dataModule.js'
import { liveEnv } from '../effects/env.js'
import { orThrow } from '../errors/orThrow.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { GradientTransform, Schedule } from '../optim/transform.js'
import type { FitEvent } from '../pipeline/events.js'
import { fit, type RunEnv } from '../pipeline/fit.js'
import type { Module } from '../pipeline/module.js'
import type { TrainerOptions } from '../pipeline/options.js'
import type { Params, StateTree } from '../tree/tree.js'
import { curveCsv, curveJson, type LrFindMode, type Smoother, smoothLoss, startSmoother, suggestLr, sweepSchedule } from './lrFinderCurve.js'

/** The CSV file `lrFind` writes in `dir`. */
export const LR_FINDER_CSV = 'lr_finder.csv'
/** The JSON file `lrFind` writes in `dir`: what `rxtrain report` draws (the name its reader looks for; a test holds them equal). */
export const LR_FINDER_JSON = 'lr_finder.json'

/**
 * Options of `tuner.lrFind`: Lightning's `Tuner.lr_find` arguments, and the optimizer to sweep.
 *
 * @example
 * const options: tuner.LrFindOptions = { optimizer: (lr) => optim.adam({ lr }), minLr: 1e-6, maxLr: 1, numTraining: 100 }
 */
export interface LrFindOptions {
  /**
   * The module's optimizer with its learning rate given: the finder hands it the sweep's schedule.
   * (A module's optimizer is an opaque transform, so the finder cannot change its rate itself.)
   */
  readonly optimizer: (lr: Schedule) => GradientTransform<StateTree>
  /** The first learning rate (default 1e-8). */
  readonly minLr?: number
  /** The last learning rate, approached but not reached (default 1). */
  readonly maxLr?: number
  /** Optimizer steps in the sweep (default 100); the training data is repeated when it is shorter. */
  readonly numTraining?: number
  /** `exponential` (default) or `linear` steps from `minLr` to `maxLr`. */
  readonly mode?: LrFindMode
  /** Stop once the smoothed loss exceeds this many times the best one (default 4; `null` never stops early). */
  readonly earlyStopThreshold?: number | null
  /** The smoothing factor of the loss's moving average (default 0.98). */
  readonly beta?: number
  /** Trainer options of the sweep (seed, accelerator, precision, accumulation, clipping); its length and validation are the finder's. */
  readonly trainer?: TrainerOptions
  /** A folder to write the curve to: `lr_finder.csv` and `lr_finder.json` (the run folder, so `rxtrain report` draws it). */
  readonly dir?: string
}

/**
 * What `tuner.lrFind` found: the learning rate and smoothed loss of each step, and the suggestion
 * (undefined when too few points were left to choose from).
 *
 * @example
 * const found: tuner.LrFindResult = await lastValueFrom(tuner.lrFind(module, { train }, { optimizer: (lr) => optim.sgd({ lr }) }))
 * console.log(found.suggestion, found.lrs.length === found.losses.length) // 0.0331 true
 */
export interface LrFindResult {
  readonly lrs: readonly number[]
  readonly losses: readonly number[]
  readonly suggestion: number | undefined
}

interface Sweep {
  readonly lrs: number[]
  readonly losses: number[]
  readonly smoother: Smoother
  readonly diverged: boolean
}

const checkOptions = (o: Required<Pick<LrFindOptions, 'minLr' | 'maxLr' | 'numTraining' | 'beta'>>) =>
  !(o.minLr > 0 && o.maxLr > o.minLr)
    ? rxtrainError('ConfigError', `lrFind needs 0 < minLr < maxLr, got minLr ${o.minLr} and maxLr ${o.maxLr}`, 'give a positive minLr below maxLr (Lightning: 1e-8 and 1).', { field: 'minLr' })
    : !(Number.isInteger(o.numTraining) && o.numTraining >= 2)
      ? rxtrainError('ConfigError', `lrFind needs numTraining of 2 or more, got ${o.numTraining}`, 'give numTraining: 100 (Lightning\'s default) or another whole number of steps.', { field: 'numTraining' })
      : !(o.beta >= 0 && o.beta < 1)
        ? rxtrainError('ConfigError', `lrFind needs 0 <= beta < 1, got ${o.beta}`, 'give beta: 0.98 (Lightning\'s default).', { field: 'beta' })
        : undefined

/**
 * Lightning's learning-rate finder (`Tuner.lr_find`): trains a fresh copy of the module for up to
 * `numTraining` steps while the learning rate sweeps from `minLr` to `maxLr`, smooths the loss,
 * stops once it diverges, and suggests the rate where the loss falls fastest. It runs `fit` on
 * the module's own `init`, so nothing of it reaches a later run: a `fit` with the same seed
 * afterwards is bitwise the one without the finder. Emits one result, then completes; with
 * `dir`, the curve is first written there as `lr_finder.csv` and `lr_finder.json`.
 *
 * @example
 * const found = await lastValueFrom(tuner.lrFind(module, { train }, { optimizer: (lr) => optim.adam({ lr }), dir: 'runs/mnist/version_0' }))
 * console.log(`suggested learning rate ${found.suggestion}`)
 */
export const lrFind = <P extends Params, S extends Params, B>(
  module: Module<P, S, B, unknown>,
  data: DataModule<B, unknown>,
  options: LrFindOptions,
  env: Partial<RunEnv> = {},
): Observable<LrFindResult> =>
  defer(() => {
    const o = { minLr: 1e-8, maxLr: 1, numTraining: 100, mode: 'exponential' as LrFindMode, beta: 0.98, ...options }
    const threshold = options.earlyStopThreshold === null ? undefined : (options.earlyStopThreshold ?? 4)
    const bad = checkOptions(o)
    if (bad !== undefined) return throwError(() => bad)
    if (data.train === undefined)
      return throwError(() => rxtrainError('ConfigError', 'lrFind needs a training source', 'give the data module a `train` source.', { field: 'train' }))
    const schedule = sweepSchedule(o.mode, o.minLr, o.maxLr, o.numTraining)
    // The module with the sweep as its learning rate; no source: workers could not rebuild it.
    const { source: _source, ...rest } = module
    const sweeping: Module<P, S, B, unknown> = { ...rest, optimizer: o.optimizer(schedule) }
    const trainer: TrainerOptions = {
      ...o.trainer,
      maxEpochs: -1,
      maxSteps: o.numTraining,
      // Every optimizer step's loss is smoothed: have it read on every backend (webgpu reads a
      // step's values only for its rows otherwise). The sweep writes no rows, so nothing else changes.
      logEveryNSteps: 1,
      limitValBatches: 0,
      numSanityValSteps: 0,
      strategy: 'auto',
      devices: 1,
      ckptPath: undefined,
    }
    const start: Sweep = { lrs: [], losses: [], smoother: startSmoother, diverged: false }
    return fit(sweeping, { train: data.train }, trainer, env).pipe(
      filter((e): e is Extract<FitEvent, { type: 'trainStep' }> => e.type === 'trainStep' && e.optimizerStepped),
      scan((s: Sweep, e) => {
        const { next, smoothed, diverged } = smoothLoss(s.smoother, e.loss, o.beta, threshold)
        return { lrs: [...s.lrs, schedule(e.globalStep - 1)], losses: [...s.losses, smoothed], smoother: next, diverged }
      }, start),
      // Unsubscribing at divergence ends the sweep at once (and releases its tensors).
      takeWhile((s) => !s.diverged, true),
      defaultIfEmpty(start),
      last(),
      map((s): LrFindResult => ({ lrs: s.lrs, losses: s.losses, suggestion: suggestLr(s.lrs, s.losses, o.mode) })),
      concatMap((r) => {
        if (options.dir === undefined) return [r]
        const fs = env.fs ?? liveEnv.fs
        const dir = options.dir
        return from(
          (async () => {
            await orThrow(fs.mkdir(dir))
            await orThrow(fs.writeFileAtomic(`${dir}/${LR_FINDER_CSV}`, curveCsv(r.lrs, r.losses)))
            await orThrow(fs.writeFileAtomic(`${dir}/${LR_FINDER_JSON}`, curveJson(r.lrs, r.losses, r.suggestion)))
            return r
          })(),
        )
      }),
    )
  })
