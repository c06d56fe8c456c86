import { catchError, concatMap, defer, last, map, type Observable, of, throwError } from 'rxjs'
import type { DataModule } from '../data/dataModule.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { fit, type RunEnv } from '../pipeline/fit.js'
import type { Module } from '../pipeline/module.js'
import type { TrainerOptions } from '../pipeline/options.js'
import type { Params } from '../tree/tree.js'
import { isOutOfMemory } from './outOfMemory.js'

/**
 * Options of `tuner.scaleBatchSize` (Lightning's `Tuner.scale_batch_size`).
 *
 * @example
 * const options: tuner.ScaleBatchSizeOptions = { mode: 'binsearch', initVal: 32, maxTrials: 10, stepsPerTrial: 3 }
 */
export interface ScaleBatchSizeOptions {
  /** `power` (default): double until a batch fails; `binsearch`: then search between the last that trained and the first that failed. */
  readonly mode?: 'power' | 'binsearch'
  /** The first batch size tried (default 2). */
  readonly initVal?: number
  /** How many sizes may train before the search stops (default 25). */
  readonly maxTrials?: number
  /** Training steps of each trial (default 3). */
  readonly stepsPerTrial?: number
  /** Trainer options of the trials (accelerator, precision, seed); their length is the tuner's. */
  readonly trainer?: TrainerOptions
}

/**
 * What `tuner.scaleBatchSize` found: the largest batch size that trained (undefined when even a
 * batch of 1 ran out of memory), and every trial in order.
 *
 * @example
 * const digitsIn = (batchSize: number) => ({ train: fromArrays({ x: { data: images, shape: [784] }, y: { data: digits, shape: [] } }, { batchSize }) })
 * const found: tuner.ScaleBatchSizeResult = await lastValueFrom(tuner.scaleBatchSize(module, digitsIn))
 * console.log(found.batchSize, found.trials) // 512 [{ batchSize: 2, fits: true }, ..., { batchSize: 1024, fits: false }]
 */
export interface ScaleBatchSizeResult {
  readonly batchSize: number | undefined
  readonly trials: readonly { readonly batchSize: number; readonly fits: boolean }[]
}

type Trial = 'fits' | 'oom'

/** Where a search stands: the largest size that fit, the smallest that failed, how many fit. */
export interface Search {
  readonly low: number | undefined
  readonly high: number | undefined
  readonly successes: number
}

/**
 * The next batch size to try, or undefined to stop: doubling while batches fit (both modes);
 * after the first failure `power` stops and `binsearch` bisects between the largest size that fit
 * and the smallest that failed, until they are adjacent. `whole` says whether the last size that
 * fit already held the whole training set in one batch (a larger one would be the same batch).
 */
export const nextBatchSize = (mode: 'power' | 'binsearch', s: Search, maxTrials: number, whole: boolean): number | undefined => {
  // Nothing fit yet: halve the failed size, down to 1 (Lightning halves it too, untested).
  if (s.low === undefined) return s.high !== undefined && s.high > 1 ? Math.floor(s.high / 2) : undefined
  if (s.high === undefined) return s.successes >= maxTrials || whole ? undefined : s.low * 2
  if (mode === 'power' || s.high - s.low <= 1 || s.successes >= maxTrials) return undefined
  return Math.floor((s.low + s.high) / 2)
}

/**
 * Lightning's batch-size finder (`Tuner.scale_batch_size`): trains `stepsPerTrial` steps at
 * growing batch sizes built by `dataFactory`, treats the backend's out-of-memory error as "too
 * large" (and any other error as a failure of the run), and emits the largest size that trained.
 * Each trial is a fresh `fit` from the module's `init`: nothing of it stays in the module.
 *
 * @example
 * const columns = { x: { data: images, shape: [784] }, y: { data: digits, shape: [] } }
 * const found = await lastValueFrom(tuner.scaleBatchSize(module, (batchSize) => ({ train: fromArrays(columns, { batchSize }) }), { mode: 'binsearch' }))
 * console.log(`largest batch that trains: ${found.batchSize}`)
 */
export const scaleBatchSize = <P extends Params, S extends Params, B>(
  module: Module<P, S, B, unknown>,
  dataFactory: (batchSize: number) => DataModule<B, unknown>,
  options: ScaleBatchSizeOptions = {},
  env: Partial<RunEnv> = {},
): Observable<ScaleBatchSizeResult> =>
  defer(() => {
    const mode = options.mode ?? 'power'
    const initVal = options.initVal ?? 2
    const maxTrials = options.maxTrials ?? 25
    const steps = options.stepsPerTrial ?? 3
    for (const [field, v] of [['initVal', initVal], ['maxTrials', maxTrials], ['stepsPerTrial', steps]] as const)
      if (!(Number.isInteger(v) && v >= 1))
        return throwError(() => rxtrainError('ConfigError', `scaleBatchSize needs ${field} to be a whole number of 1 or more, got ${v}`, `give ${field} a positive integer (Lightning: initVal 2, maxTrials 25, stepsPerTrial 3).`, { field }))
    const trainer: TrainerOptions = { ...options.trainer, maxEpochs: -1, maxSteps: steps, numSanityValSteps: 0, limitValBatches: steps, ckptPath: undefined }
    const trial = (data: DataModule<B, unknown>): Observable<Trial> =>
      fit(module, data, trainer, env).pipe(
        last(),
        map((): Trial => 'fits'),
        catchError((e: unknown) => (isOutOfMemory(e) ? of<Trial>('oom') : throwError(() => e))),
      )
    const trials: { batchSize: number; fits: boolean }[] = []
    const search = (size: number, s: Search): Observable<ScaleBatchSizeResult> => {
      const data = dataFactory(size)
      return trial(data).pipe(
        concatMap((outcome) => {
          trials.push({ batchSize: size, fits: outcome === 'fits' })
          const next: Search = outcome === 'fits' ? { ...s, low: size, successes: s.successes + 1 } : { ...s, high: size }
          const whole = outcome === 'fits' && data.train?.numBatches !== undefined && data.train.numBatches <= 1
          const after = nextBatchSize(mode, next, maxTrials, whole)
          return after === undefined ? of({ batchSize: next.low, trials: [...trials] }) : search(after, next)
        }),
      )
    }
    return search(initVal, { low: undefined, high: undefined, successes: 0 })
  })
