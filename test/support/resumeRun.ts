import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, type MonoTypeOperatorFunction, tap } from 'rxjs'
import { expect } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { encodeCheckpoint, writeCheckpoint } from '../../src/checkpoint/writeCheckpoint.js'
import type { FileSystem } from '../../src/effects/fileSystem.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import type { DataModule } from '../../src/data/dataModule.js'
import type { FitEnd, FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { Module } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { tensorsOf } from '../../src/tree/tree.js'
import type { Params } from '../../src/tree/tree.js'
import { workWhen } from './hooks.js'

/** Every number of a run's final state (params, model state, optimizer state), in tree order, and the validation metrics it logged. */
export interface RunValues {
  readonly params: number[][]
  readonly state: number[][]
  readonly optState: number[][]
  /** The optimizer state without its tensors (counters, flags). */
  readonly optPlain: string
  readonly validations: readonly string[]
}

const plainOf = (v: unknown): unknown =>
  v instanceof tf.Tensor ? 'T' : Array.isArray(v) ? v.map(plainOf) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainOf(x)])) : v

const valuesAtEnd = (events: FitEvent[], end: FitEnd): RunValues => ({
  params: tensorsOf(end.state.params).map((t) => Array.from(t.dataSync())),
  state: tensorsOf(end.state.state).map((t) => Array.from(t.dataSync())),
  optState: tensorsOf(end.state.optState).map((t) => Array.from(t.dataSync())),
  optPlain: JSON.stringify(plainOf(end.state.optState)),
  validations: events.flatMap((e) => (e.type === 'validationEnd' ? [`${e.epoch}/${e.globalStep} ${JSON.stringify(e.metrics)}`] : [])),
})

/** Runs `fit` to its end and reads its final state (before the run releases it). */
export const runValues = async <P extends Params, S extends Params, B>(
  module: Module<P, S, B>,
  data: DataModule<B>,
  options: TrainerOptions,
  backend: Backend,
  hooks: MonoTypeOperatorFunction<FitEvent> = (s) => s,
): Promise<RunValues> => {
  const events: FitEvent[] = []
  let values: RunValues | undefined
  await lastValueFrom(
    fit(module, data, options, { backend, signals: manualSignals() }).pipe(
      hooks,
      tap((e: FitEvent) => {
        events.push(e)
        if (e.type === 'fitEnd') values = valuesAtEnd(events, e)
      }),
    ),
  )
  return values as RunValues
}

/**
 * The loop's own state at `fitEnd`, written to `fs` as the checkpoint `/ckpt/last` (no hook
 * states): what an interrupted run leaves for `ckptPath: '/ckpt/last'`. The run waits for the write.
 */
export const saveLoopAsLast = (fs: FileSystem): MonoTypeOperatorFunction<FitEvent> =>
  workWhen(
    (e) => e.type === 'fitEnd',
    (e) => {
      const end = e as FitEnd
      const files = encodeCheckpoint({ state: end.state, weightsOnly: false, loop: end.loop, hookStates: {}, options: null, precision: { name: '32-true', storageDtype: 'float32' }, meta: {}, createdAt: 'now' })
      return writeCheckpoint(fs, '/ckpt', 'last', files)().then(
        E.getOrElse((error): string => {
          throw error
        }),
      )
    },
  )

/**
 * Runs `fit` uninterrupted, then again interrupted (SIGINT) when `at` first holds, saves the
 * interrupted run's checkpoint, resumes from it and returns both runs' final values (and the
 * interrupted run's validations, to compare the resumed run's tail). The resumed run must leak no tensors.
 */
export const interruptAndResume = async <P extends Params, S extends Params, B>(
  module: Module<P, S, B>,
  data: DataModule<B>,
  options: TrainerOptions,
  backend: Backend,
  at: (e: FitEvent) => boolean,
  hooks: () => MonoTypeOperatorFunction<FitEvent> = () => (s) => s,
): Promise<{ full: RunValues; resumed: RunValues; firstValidations: number }> => {
  const full = await runValues(module, data, options, backend, hooks())
  const fs = memoryFileSystem()
  const signals = manualSignals()
  let raised = false
  let firstValidations = 0
  const interrupt = tap((e: FitEvent) => {
    if (e.type === 'validationEnd') firstValidations++
    if (!raised && at(e)) {
      raised = true
      signals.raise('SIGINT')
    }
    if (e.type === 'fitEnd') expect(e.reason).toBe('interrupted')
  })
  const save = saveLoopAsLast(fs)
  await lastValueFrom(fit(module, data, options, { backend, signals }).pipe(hooks(), interrupt, save))
  expect(raised).toBe(true)
  const events: FitEvent[] = []
  let resumed: RunValues | undefined
  const before = tf.memory().numTensors
  await lastValueFrom(
    fit(module, data, { ...options, ckptPath: '/ckpt/last' }, { backend, fs, signals: manualSignals() }).pipe(
      hooks(),
      tap((e: FitEvent) => {
        events.push(e)
        if (e.type === 'fitEnd') resumed = valuesAtEnd(events, e)
      }),
    ),
  )
  // the resumed run releases everything it loaded and made
  expect(tf.memory().numTensors).toBe(before)
  return { full, resumed: resumed as RunValues, firstValidations }
}
