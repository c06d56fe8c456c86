import * as E from 'fp-ts/lib/Either.js'
import { defer, finalize, type Observable, of, switchMap, throwError } from 'rxjs'
import { startBackend } from '../backends/accelerator.js'
import type { Backend } from '../backends/backend.js'
import { type Precision, resolvePrecision } from '../backends/precision.js'
import type { DataModule } from '../data/dataModule.js'
import { type Env, liveEnv } from '../effects/env.js'
import { latchedSignals } from '../effects/signals.js'
import { orThrow } from '../errors/orThrow.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type GradientTransform, withUpdateContext } from '../optim/transform.js'
import type { Params, StateTree } from '../tree/tree.js'
import { ddp } from '../strategies/ddp.js'
import { singleDevice, type TrainStrategy } from '../strategies/strategy.js'
import { fitInWorker } from '../strategies/workerContext.js'
import { drive } from '../flow/drive.js'
import { claimFlow } from '../flow/flow.js'
import type { FitEvent } from './events.js'
import { fitProgram } from './fitProgram.js'
import { clippedOptimizer } from './stepTransformers.js'
import { optimizerFor } from './step.js'
import type { ResumePoint } from './fitProgramArgs.js'
import type { Module } from './module.js'
import { parseTrainerOptions, type ResolvedOptions, type TrainerOptions } from './options.js'
import { type LoopPlan, planFit } from './plan.js'
import { checkpointPathOf, resumeFrom } from './resumeFrom.js'

/**
 * The capabilities a run uses. `backend`, when given, must already be initialised (tests pass
 * one so the run stays synchronous); otherwise `options.accelerator` picks and initialises one.
 *
 * @example
 * // a test's run: an initialised backend, checkpoints written to memory
 * const env: Partial<RunEnv> = { backend, fs: effects.memoryFileSystem() }
 * const trained = await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, env).pipe(checkpoint(), trainedModel()))
 */
export interface RunEnv extends Env {
  readonly backend?: Backend
}

/**
 * What in a run needs synchronous reads, if anything: `auto` then passes over backends without
 * them, and an explicit one is refused. Half precision and `applyIfFinite` do not: they round and
 * decide on the device there.
 */
const hostReadsNeededBy = (o: ResolvedOptions): { readonly what: string; readonly field: string; readonly remedy: string } | undefined =>
  o.strategy === 'ddp' && o.devices > 1 ? { what: "strategy 'ddp'", field: 'strategy', remedy: "use strategy: 'auto' on this backend." } : undefined

/** The backend for a run: the one given, or the accelerator's. */
export const runBackend = (options: ResolvedOptions, env: Partial<RunEnv>): Observable<Backend> =>
  env.backend !== undefined
    ? of(env.backend)
    : defer(() => orThrow(startBackend(options.accelerator, hostReadsNeededBy(options)?.what)))

/** How batches are computed: this thread, or `devices` data-parallel ranks. */
const strategyFor = (o: ResolvedOptions, module: Module<Params, Params, unknown>, backend: Backend, optimizer: GradientTransform<StateTree>, precision: Precision): TrainStrategy => {
  if (o.strategy !== 'ddp' || o.devices === 1) return singleDevice
  if (module.groups !== undefined)
    throw rxtrainError(
      'ConfigError',
      "strategy 'ddp' computes each batch's gradients in one pass on every rank, but this module has several losses (groups) that step one after the other",
      'train it on one device (leave strategy and devices unset).',
      { field: 'strategy' },
    )
  if (module.source === undefined)
    throw rxtrainError(
      'ConfigError',
      "strategy 'ddp' runs the module in worker threads, which must import it, but the module has no source",
      "give it one: defineModule({ ..., source: { url: import.meta.url, exportName: 'myModule' } }) in the file that exports it.",
      { field: 'strategy' },
    )
  return ddp({ devices: o.devices, module, source: module.source, backend, precision, optimizer })
}

/** The module's optimizer for this plan, behind the trainer's gradient clipping if any. */
export const effectiveOptimizer = (optimizer: Module<Params, Params, unknown>['optimizer'], options: ResolvedOptions, plan: LoopPlan): GradientTransform<StateTree> =>
  clippedOptimizer(optimizerFor(optimizer, plan), options)

/**
 * Trains a module: a cold Observable of `FitEvent`s. Nothing happens until it is subscribed;
 * unsubscribing stops at the next step boundary and releases every tensor. Hooks are operators
 * placed in `pipe(...)` and run in that order.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 3 })
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
    const runEnv: Env = { ...liveEnv, ...env }
    // The hooks downstream are claimed now, while the pipe is being subscribed.
    const flow = claimFlow(runEnv)
    // The module's file called fit as a DDP worker imported it: refused before it starts workers.
    const inWorker = fitInWorker()
    if (inWorker !== undefined) return throwError(() => inWorker)
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
    const clock = runEnv.clock
    const ckptPath = checkpointPathOf(o)
    // Listen from subscription, not from the first step: a SIGINT/SIGTERM while the backend starts
    // or a checkpoint loads is honoured before step 1 instead of killing the process unsaved.
    const signals = latchedSignals(runEnv.signals)
    return runBackend(o, env).pipe(
      switchMap((backend) => {
        backend.activate()
        const need = hostReadsNeededBy(o)
        if (!backend.hostReads && need !== undefined)
          throw rxtrainError('ConfigError', `${need.what} needs synchronous reads, which the ${backend.name} backend does not have`, need.remedy, { field: need.field })
        const precision = resolvePrecision(o.precision, o.lossScaler, backend)
        // The backend's fused kernels (Adam) and finiteness check reach the optimizer here, once.
        const optimizer = withUpdateContext(effectiveOptimizer(module.optimizer as Module<Params, Params, unknown>['optimizer'], o, plan.right), backend)
        const resume$: Observable<ResumePoint<P, S> | undefined> =
          ckptPath === undefined ? of(undefined) : resumeFrom(runEnv.fs, ckptPath, module as Module<P, S, unknown, unknown>, optimizer, backend, o.seed)
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
                  precision,
                  clock,
                  flow,
                  signals,
                  strategy: strategyFor(o, module as Module<Params, Params, unknown>, backend, optimizer, precision),
                  ...(resume !== undefined && { resume }),
                },
                emit,
              ),
            ),
          ),
        )
      }),
      finalize(() => signals.close()),
    )
  })
