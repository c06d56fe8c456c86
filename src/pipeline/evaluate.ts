import type * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { defer, map, type Observable, switchMap, throwError } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import { resolvePrecision } from '../backends/precision.js'
import type { BatchSource } from '../data/source.js'
import type { DataModule } from '../data/dataModule.js'
import { type Env, liveEnv } from '../effects/env.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import { foldIn, key } from '../random/key.js'
import type { Params } from '../tree/tree.js'
import { pullBatch, stepError } from './batches.js'
import { claimFlow, type Flow, settleFlow } from '../flow/flow.js'
import { publish } from '../flow/publish.js'
import type { Clock } from '../effects/clock.js'
import { drive, type Program, wait } from '../flow/drive.js'
import { evaluationPass } from './evaluationPass.js'
import type { EvalEvent, PredictEvent } from './events.js'
import { type RunEnv, runBackend } from './fit.js'
import type { Module } from './module.js'
import { parseTrainerOptions, type ResolvedOptions, type TrainerOptions } from './options.js'
import { debugOverrides, limitBatches } from './plan.js'
import { evaluatedModel } from './evaluatedModel.js'

type Prepared<B> = { readonly options: ResolvedOptions; readonly source: BatchSource<B>; readonly numBatches: number }

const prepare = <B>(
  options: TrainerOptions,
  source: BatchSource<B> | undefined,
  stage: 'val' | 'test' | 'predict',
  hasStep: boolean,
): E.Either<unknown, Prepared<B>> => {
  const parsed = parseTrainerOptions(options)
  if (E.isLeft(parsed)) return parsed
  const o = debugOverrides(parsed.right)
  const stepName = { val: 'validationStep', test: 'testStep', predict: 'predictStep' }[stage]
  if (!hasStep) return E.left(rxtrainError('ConfigError', `the module has no ${stepName}`, `define ${stepName} on the module.`, { field: stepName }))
  if (source === undefined)
    return E.left(rxtrainError('ConfigError', `the data module has no ${stage} source`, `give the data module a \`${stage}\` source.`, { field: stage }))
  const limit = { val: o.limitValBatches, test: o.limitTestBatches, predict: o.limitPredictBatches }[stage]
  const limitName = { val: 'limitValBatches', test: 'limitTestBatches', predict: 'limitPredictBatches' }[stage]
  const numBatches = limitBatches(source.numBatches, limit, limitName)
  if (E.isLeft(numBatches)) return numBatches
  return E.right({ options: o, source, numBatches: numBatches.right })
}

/** The run's precision cast for step contexts (nothing under `'32-true'`), with the backend's rounding (on the device for webgpu). */
const computeCastOf = (o: ResolvedOptions, backend: Backend): { castCompute?: (x: tf.Tensor) => tf.Tensor } => {
  const precision = resolvePrecision(o.precision, o.lossScaler, backend)
  return precision.computeFormat === undefined ? {} : { castCompute: precision.castCompute }
}

/** Publishes events of an evaluation run (no hook can stop one: stops are ignored). */
const announcer =
  <E>(flow: Flow, emit: (e: E) => boolean, clock: Clock) =>
  (make: (time: number) => E): Program =>
    (function* () {
      yield* publish(flow, emit, make(clock.now()))
    })()

const evaluate = <P extends Params, S extends Params, B>(
  stage: 'val' | 'test',
  module: Module<P, S, B, unknown>,
  given: Model<P, S> | undefined,
  data: DataModule<B, unknown>,
  options: TrainerOptions,
  env: Partial<RunEnv>,
): Observable<EvalEvent> =>
  defer(() => {
    const runEnv: Env = { ...liveEnv, ...env }
    const flow = claimFlow(runEnv)
    const step = stage === 'val' ? module.validationStep : module.testStep
    const prepared = prepare(options, stage === 'val' ? data.val : data.test, stage, step !== undefined)
    if (E.isLeft(prepared)) return throwError(() => prepared.left)
    const { options: o, source, numBatches } = prepared.right
    return runBackend(o, env).pipe(
      switchMap((backend) => evaluatedModel(o, given, runEnv.fs, backend).pipe(map((evaluated) => ({ backend, evaluated })))),
      switchMap(({ backend, evaluated: { model, owned } }) =>
        drive<EvalEvent>(function* (emit): Program {
          backend.activate()
          try {
            const say = announcer(flow, emit, runEnv.clock)
            yield* say((time) => ({ type: 'evalStart' as const, time, stage, numBatches }))
            const result = yield* evaluationPass({
              stage,
              source,
              numBatches,
              step: (m, batch, ctx) => (step as NonNullable<typeof step>).call(module, m, batch, ctx),
              model,
              backend,
              key: key(o.seed),
              epoch: 0,
              globalStep: 0,
              ...computeCastOf(o, backend),
              afterBatch: (batchIdx) => say((time) => ({ type: 'evalStep' as const, time, stage, batchIdx, numBatches })),
            })
            yield* say((time) => ({ type: 'evalEnd' as const, time, stage, metrics: result.metrics }))
          } finally {
            yield* wait(settleFlow(flow))
            if (owned) backend.dispose(model)
          }
        }),
      ),
    )
  })

/**
 * Runs the module's `validationStep` over `data.val` with the given variables (Lightning's
 * `trainer.validate`). The last event, `evalEnd`, carries the epoch-level metrics. With
 * `options.ckptPath` (`'best'`, `'last'` or a checkpoint path) it evaluates that checkpoint's
 * variables instead, read through the run's file system (`model` may then be undefined; given, it
 * is the structure the checkpoint must have).
 *
 * @example
 * const { metrics } = await lastValueFrom(validate(module, model, { val }).pipe(filter((e) => e.type === 'evalEnd')))
 * console.log(metrics['val/acc']) // 0.9712
 */
export const validate = <P extends Params, S extends Params, B>(
  module: Module<P, S, B, unknown>,
  model: Model<P, S> | undefined,
  data: DataModule<B, unknown>,
  options: TrainerOptions = {},
  env: Partial<RunEnv> = {},
): Observable<EvalEvent> => evaluate('val', module, model, data, options, env)

/**
 * Runs the module's `testStep` over `data.test` (Lightning's `trainer.test`), with the given
 * variables or, with `options.ckptPath`, a checkpoint's (see `validate`).
 *
 * @example
 * const testSet = fromArrays(
 *   { x: { data: images, shape: [784], scale: 1 / 255 }, y: { data: digits, shape: [], dtype: 'int32' } },
 *   { batchSize: 256 },
 * )
 * const metrics = await lastValueFrom(test(module, undefined, { test: testSet }, { defaultRootDir: 'runs/x', ckptPath: 'best' }).pipe(evalMetrics()))
 */
export const test = <P extends Params, S extends Params, B>(
  module: Module<P, S, B, unknown>,
  model: Model<P, S> | undefined,
  data: DataModule<B, unknown>,
  options: TrainerOptions = {},
  env: Partial<RunEnv> = {},
): Observable<EvalEvent> => evaluate('test', module, model, data, options, env)

/**
 * Runs the module's `predictStep` over `data.predict`. Each `predictStep` event's `output` is
 * borrowed until the next event; `collectPredictions()` gathers them into one tensor you own.
 *
 * @example
 * const logits = await lastValueFrom(predict(module, model, { predict: val }).pipe(collectPredictions()))
 * const classes = tf.argMax(logits, -1) // one class per example
 */
export const predict = <P extends Params, S extends Params, B, PB>(
  module: Module<P, S, B, PB>,
  given: Model<P, S> | undefined,
  data: DataModule<B, PB>,
  options: TrainerOptions = {},
  env: Partial<RunEnv> = {},
): Observable<PredictEvent> =>
  defer(() => {
    const runEnv: Env = { ...liveEnv, ...env }
    const flow = claimFlow(runEnv)
    const prepared = prepare(options, data.predict, 'predict', module.predictStep !== undefined)
    if (E.isLeft(prepared)) return throwError(() => prepared.left)
    const { options: o, source, numBatches } = prepared.right
    const predictStep = module.predictStep as NonNullable<typeof module.predictStep>
    return runBackend(o, env).pipe(
      switchMap((backend) => evaluatedModel(o, given, runEnv.fs, backend).pipe(map((evaluated) => ({ backend, evaluated })))),
      switchMap(({ backend, evaluated: { model, owned } }) =>
        drive<PredictEvent>(function* (emit): Program {
          backend.activate()
          try {
            const say = announcer(flow, emit, runEnv.clock)
            const root = key(o.seed)
            const iterator = source.open({ key: root, noShuffle: true })
            try {
              for (let batchIdx = 0; batchIdx < numBatches; batchIdx++) {
                const pulled = yield* pullBatch(iterator, 'predict')
                if (pulled.done === true) break
                const batch = pulled.value
                let output: tf.Tensor
                try {
                  const ctx = { stage: 'predict' as const, training: false, key: foldIn(root, batchIdx), epoch: 0, batchIdx, globalStep: 0, ...computeCastOf(o, backend) }
                  output = backend.scoped(() => predictStep.call(module, model, batch, ctx))
                } catch (e) {
                  backend.dispose(batch)
                  throw stepError('predict', 0, batchIdx, batch, e)
                }
                // The output may be the batch itself, or a parameter: release by identity.
                backend.release(batch, output)
                try {
                  yield* say((time) => ({ type: 'predictStep' as const, time, batchIdx, numBatches, output }))
              } finally {
                // A hook's work may still be reading the output (the run was cancelled meanwhile).
                yield* wait(settleFlow(flow))
                backend.release(output, model)
              }
            }
          } finally {
            iterator.close()
          }
          yield* say((time) => ({ type: 'predictEnd' as const, time, numBatches }))
          } finally {
            yield* wait(settleFlow(flow))
            if (owned) backend.dispose(model)
          }
        }),
      ),
    )
  })
