import * as E from 'fp-ts/lib/Either.js'
import { defer, from, map, type Observable, of, switchMap, throwError } from 'rxjs'
import { resolveAccelerator } from '../backends/accelerator.js'
import type { Backend } from '../backends/backend.js'
import { resolvePrecision } from '../backends/precision.js'
import type { DataModule } from '../data/dataModule.js'
import { type Env, liveEnv } from '../effects/env.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { chain } from '../optim/chain.js'
import { clipByGlobalNorm, clipByValue } from '../optim/clip.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Params, StateTree } from '../tree/tree.js'
import { drive } from './drive.js'
import type { FitEvent } from './events.js'
import { fitProgram, type ResumePoint } from './fitLoop.js'
import type { Module } from './module.js'
import { parseTrainerOptions, type ResolvedOptions, type TrainerOptions } from './options.js'
import { type LoopPlan, planFit } from './plan.js'
import { checkpointPathOf, resumeFrom } from './resumeFrom.js'

/**
 * The capabilities a run uses. `backend`, when given, must already be initialised (tests pass
 * one so the run stays synchronous); otherwise `options.accelerator` picks and initialises one.
 */
export interface RunEnv extends Env {
  readonly backend?: Backend
}

/** The backend for a run: the one given, or the accelerator's. */
export const runBackend = (options: ResolvedOptions, env: Partial<RunEnv>): Observable<Backend> =>
  env.backend !== undefined
    ? of(env.backend)
    : from(resolveAccelerator(options.accelerator)()).pipe(
        map(
          E.getOrElse((e): Backend => {
            throw e
          }),
        ),
      )

/** The module's optimizer for this plan, behind the trainer's gradient clipping if any. */
export const effectiveOptimizer = (
  optimizer: Module<Params, Params, unknown>['optimizer'],
  options: ResolvedOptions,
  plan: LoopPlan,
): GradientTransform<StateTree> => {
  const base = typeof optimizer === 'function' ? optimizer(plan) : optimizer
  const clip = options.gradientClipVal
  if (clip === undefined || clip === 0) return base
  return chain(options.gradientClipAlgorithm === 'value' ? clipByValue(clip) : clipByGlobalNorm(clip), base) as GradientTransform<StateTree>
}

/**
 * Trains a module: a cold Observable of `FitEvent`s. Nothing happens until it is subscribed;
 * unsubscribing stops at the next step boundary and releases every tensor. Hooks are operators
 * placed in `pipe(...)` and run in that order.
 *
 * @example
 * fit(module, data, { maxEpochs: 3 })
 *   .pipe(printMetrics())
 *   .subscribe({ error: (e) => console.error(e.message) })
 */
export const fit = <P extends Params, S extends Params, B>(
  module: Module<P, S, B, unknown>,
  data: DataModule<B, unknown>,
  options: TrainerOptions = {},
  env: Partial<RunEnv> = {},
): Observable<FitEvent> =>
  defer(() => {
    const parsed = parseTrainerOptions(options)
    if (E.isLeft(parsed)) return throwError(() => parsed.left)
    const o = parsed.right
    if (data.train === undefined)
      return throwError(() => rxtrainError('ConfigError', 'fit needs a training source', 'give the data module a `train` source.', { field: 'train' }))
    const plan = planFit(o, {
      trainBatches: data.train.numBatches,
      valBatches: data.val?.numBatches,
      hasValidation: data.val !== undefined && module.validationStep !== undefined,
    })
    if (E.isLeft(plan)) return throwError(() => plan.left)
    const clock = env.clock ?? liveEnv.clock
    const ckptPath = checkpointPathOf(o)
    return runBackend(o, env).pipe(
      switchMap((backend) => {
        backend.activate()
        const optimizer = effectiveOptimizer(module.optimizer as Module<Params, Params, unknown>['optimizer'], o, plan.right)
        const resume$: Observable<ResumePoint<P, S> | undefined> =
          ckptPath === undefined ? of(undefined) : resumeFrom(env.fs ?? liveEnv.fs, ckptPath, module as Module<P, S, unknown, unknown>, optimizer, backend, o.seed)
        return resume$.pipe(
          switchMap((resume) =>
            drive<FitEvent>((emit) =>
              fitProgram(
                {
                  module,
                  data,
                  plan: plan.right,
                  options: o,
                  optimizer,
                  backend,
                  precision: resolvePrecision(o.precision),
                  clock,
                  signals: env.signals ?? liveEnv.signals,
                  ...(resume !== undefined && { resume }),
                },
                emit,
              ),
            ),
          ),
        )
      }),
    )
  })
