import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { HookStates } from '../../flow/hookEffect.js'
import type { ResolvedOptions } from '../../pipeline/options.js'
import type { Scored } from './topK.js'

/** What the hook remembers across saves, and stores in every checkpoint it writes. */
export interface CheckpointHookState {
  readonly kept: readonly Scored[]
  readonly best: string | null
  readonly last: string | null
  readonly lastGlobalStepSaved: number
  readonly lastTimeSaved: number | null
}

/**
 * What a checkpoint hook does when the run is interrupted: save `last` there as the hook that
 * keeps `last` (`saveLast`), save there if no such hook does (`save`), or nothing (`off`).
 */
export type InterruptRole = 'saveLast' | 'save' | 'off'

/**
 * The hook's state as checkpoints store it: `CheckpointHookState`; the directory it writes into
 * and its role on an interrupt (so that the checkpoint hooks of one run can tell they would write
 * into the same one, and which of them saves `last` on an interrupt; ignored on resume); and its
 * lineage (see `CheckpointHook`). The last three are absent in checkpoints written before them.
 */
export const CheckpointHookStateCodec = t.intersection([
  t.type({
    kept: t.readonlyArray(t.type({ name: t.string, score: t.number })),
    best: t.union([t.string, t.null]),
    last: t.union([t.string, t.null]),
    lastGlobalStepSaved: t.number,
    lastTimeSaved: t.union([t.number, t.null]),
  }),
  t.partial({ dir: t.string, onInterrupt: t.keyof({ saveLast: null, save: null, off: null }), lineage: t.string }),
])

/** What the hook learns about the run at `fitStart` and from its events; not stored in checkpoints. */
export interface CheckpointRun {
  readonly dir: string
  readonly fastDevRun: boolean
  readonly onTrainEpochEnd: boolean
  readonly options: ResolvedOptions
  /** The module's hyperparameters (`fitStart`'s `hparams`), saved in every checkpoint. */
  readonly hparams?: Readonly<Record<string, unknown>>
  readonly startTime: number
  /** Names present in `dir`, so that new names never collide (`-v1`, `-v2` ...). */
  readonly taken: ReadonlySet<string>
  /** Everything logged so far (the monitor and the filename's fields come from here). */
  readonly metrics: Readonly<Record<string, number>>
  /** Whether a validation has run (a monitor missing after it is an error). */
  readonly validated: boolean
  readonly onInterrupt: InterruptRole
}

/** The reducer's state: the stored part, and this run's (`undefined` until `fitStart`). */
export interface CheckpointHook extends CheckpointHookState {
  /**
   * Tells this hook's checkpoints from anything else in its directory: set at the first
   * `fitStart` of a training run (its time) and kept by every run resumed from it, so each
   * checkpoint the hook writes carries it. `undefined` before, and in older checkpoints.
   */
  readonly lineage: string | undefined
  readonly run: CheckpointRun | undefined
}

/** The state of a fresh run, before `fitStart`. */
export const freshCheckpointHook: CheckpointHook = { kept: [], best: null, last: null, lastGlobalStepSaved: -1, lastTimeSaved: null, lineage: undefined, run: undefined }

const stored = (s: CheckpointHookState): CheckpointHookState => ({
  kept: s.kept,
  best: s.best,
  last: s.last,
  lastGlobalStepSaved: s.lastGlobalStepSaved,
  lastTimeSaved: s.lastTimeSaved,
})

/** Encodes the stored part (and the directory) into checkpoints; decodes it back, with no run yet. */
export const checkpointHookCodec = new t.Type<CheckpointHook, unknown, unknown>(
  'CheckpointHook',
  (u): u is CheckpointHook => CheckpointHookStateCodec.is(u) && 'run' in u,
  (u, c) => pipe(CheckpointHookStateCodec.validate(u, c), E.map((s): CheckpointHook => ({ ...stored(s), lineage: s.lineage, run: undefined }))),
  (s) => ({ ...stored(s), ...(s.lineage !== undefined && { lineage: s.lineage }), ...(s.run !== undefined && { dir: s.run.dir, onInterrupt: s.run.onInterrupt }) }),
)

/**
 * Reads a checkpoint hook's state from a checkpoint's hook states (`loadCheckpoint(...).hookStates`),
 * for tools and tests. `key` is the hook's kind, `'checkpoint'`, or `'checkpoint#2'` for the
 * second checkpoint hook of a pipe.
 *
 * @example
 * checkpointHookState(loaded.hookStates) // E.right({ kept: [...], best: 'epoch=3-step=16', ... })
 */
export const checkpointHookState = (hookStates: HookStates, key = 'checkpoint'): E.Either<string, CheckpointHookState> =>
  pipe(
    CheckpointHookStateCodec.decode(hookStates[key]),
    E.bimap(() => `no checkpoint hook state named '${key}'`, stored),
  )
