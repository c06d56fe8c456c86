import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { defer, type MonoTypeOperatorFunction, tap } from 'rxjs'
import { resolvePrecision, type StorageDtype } from '../../backends/precision.js'
import type { FileSystem } from '../../effects/fileSystem.js'
import { nodeFileSystem } from '../../effects/nodeFileSystem.js'
import { rxtrainError } from '../../errors/rxtrainError.js'
import type { EpochEnd, FitEnd, FitEvent, FitStart, TrainStep, ValidationEnd } from '../../pipeline/events.js'
import { formatCheckpointName } from './filename.js'
import { saveCheckpoint } from './saveCheckpoint.js'
import { admit, admits, isBetter, type Mode, ranked, type Scored } from './topK.js'

/** Lightning `ModelCheckpoint`'s options, with its names and defaults. */
export interface CheckpointOptions {
  /** Where checkpoints go. Default `<defaultRootDir>/checkpoints`. */
  readonly dir?: string
  /** Name template, e.g. `'{epoch}-{step}-{val/loss:.4f}'`. Default `'{epoch}-{step}'`. */
  readonly filename?: string
  /** The logged value that ranks checkpoints; without one, the latest checkpoints are kept. */
  readonly monitor?: string
  readonly mode?: Mode
  /** How many checkpoints to keep: k best (or latest), -1 all, 0 none. Default 1. */
  readonly saveTopK?: number
  /** Also keep a `last` pointer at the newest checkpoint. Default false. */
  readonly saveLast?: boolean
  /** Save every n epochs (default 1 when neither of the two below is given, else off). */
  readonly everyNEpochs?: number
  /** Save every n optimizer steps. */
  readonly everyNTrainSteps?: number
  /** Save when this many milliseconds have passed since the last save (checked after each step). */
  readonly trainTimeInterval?: number
  /** Store parameters and model state only (for inference; cannot resume training). */
  readonly saveWeightsOnly?: boolean
  /**
   * The dtype the weights (parameters and model state) are stored in. `'float16'` and
   * `'bfloat16'` halve them and round the values (a run resumed from them continues from the
   * rounded weights). Optimizer state stays float32, except under `'16-true'` / `'bf16-true'`,
   * which keep it rounded anyway. Default: the precision policy's storage, which loses nothing:
   * `'float32'`, or the half format of a `'16-true'` / `'bf16-true'` run.
   */
  readonly dtype?: StorageDtype
  /** Save at the end of the training epoch rather than after validation (Lightning's rule decides by default). */
  readonly saveOnTrainEpochEnd?: boolean
  /** `{val/loss}` becomes `val_loss=0.31` (true) or `0.31` (false). Default true. */
  readonly autoInsertMetricName?: boolean
  /** On SIGINT/SIGTERM (`fitEnd` reason `interrupted`), save and point `last` at it. Default true. */
  readonly saveOnInterrupt?: boolean
  /** The name of this hook's state in checkpoints (two checkpoint hooks need two names). Default `'checkpoint'`. */
  readonly name?: string
  readonly fs?: FileSystem
}

/** What the hook remembers across saves, and stores in every checkpoint it writes. */
export interface CheckpointHookState {
  readonly kept: readonly Scored[]
  readonly best: string | null
  readonly last: string | null
  readonly lastGlobalStepSaved: number
  readonly lastTimeSaved: number | null
}

const freshState: CheckpointHookState = { kept: [], best: null, last: null, lastGlobalStepSaved: -1, lastTimeSaved: null }

const isHookState = (u: unknown): u is CheckpointHookState =>
  typeof u === 'object' && u !== null && Array.isArray((u as { kept?: unknown }).kept) && typeof (u as { lastGlobalStepSaved?: unknown }).lastGlobalStepSaved === 'number'

type Savable = TrainStep | ValidationEnd | EpochEnd | FitEnd

interface Run {
  readonly dir: string
  readonly fastDevRun: boolean
  readonly onTrainEpochEnd: boolean
  readonly options: unknown
  readonly start: FitStart
  /** Names present in `dir`, so that new names never collide (`-v1`, `-v2` ...). */
  readonly taken: Set<string>
}

const validate = (o: CheckpointOptions): void => {
  const bad = (field: string, expected: string) =>
    rxtrainError('ConfigError', `checkpoint option ${field} must be ${expected}`, `fix checkpoint({ ${field} }).`, { field })
  if (o.saveTopK !== undefined && !(Number.isInteger(o.saveTopK) && o.saveTopK >= -1)) throw bad('saveTopK', 'an integer >= -1')
  if (o.mode !== undefined && o.mode !== 'min' && o.mode !== 'max') throw bad('mode', "'min' or 'max'")
  for (const f of ['everyNEpochs', 'everyNTrainSteps'] as const)
    if (o[f] !== undefined && !(Number.isInteger(o[f]) && (o[f] as number) >= 0)) throw bad(f, 'an integer >= 0')
  if (o.trainTimeInterval !== undefined && !(o.trainTimeInterval > 0)) throw bad('trainTimeInterval', 'a positive number of milliseconds')
  if (o.dtype !== undefined && !['float32', 'float16', 'bfloat16'].includes(o.dtype)) throw bad('dtype', "'float32', 'float16' or 'bfloat16'")
  if (o.monitor === undefined && o.saveTopK !== undefined && o.saveTopK > 1)
    throw rxtrainError('ConfigError', `checkpoint({ saveTopK: ${o.saveTopK} }) needs a monitor to rank checkpoints`, "add monitor: 'val/loss' (and mode), or use saveTopK: -1 to keep every checkpoint.", {
      field: 'saveTopK',
    })
}

/**
 * Saves checkpoints as training runs (Lightning's `ModelCheckpoint`), as an operator: place it in
 * `pipe(...)`. A save holds the stream until the checkpoint is on disk, so it is the state of that
 * exact step; it is written atomically (see `writeCheckpoint`), then `last.json` / `best.json`
 * pointers move, and only then are checkpoints that fell out of the top k deleted. Each
 * checkpoint carries every hook's state, so `fit(..., { ckptPath })` resumes exactly.
 *
 * @example
 * fit(module, data, { maxEpochs: 10, defaultRootDir: 'runs/mnist' }).pipe(
 *   checkpoint({ monitor: 'val/loss', mode: 'min', saveTopK: 3, saveLast: true, filename: '{epoch}-{val/loss:.4f}' }),
 * )
 */
export const checkpoint = (options: CheckpointOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  validate(options)
  const fs = options.fs ?? nodeFileSystem
  const hookName = options.name ?? 'checkpoint'
  const mode: Mode = options.mode ?? 'min'
  const topK = options.saveTopK ?? 1
  const everyNEpochs = options.everyNEpochs ?? (options.everyNTrainSteps === undefined && options.trainTimeInterval === undefined ? 1 : 0)
  return (source) =>
    defer(() => {
      let run: Run | undefined
      let hook: CheckpointHookState = freshState
      let metrics: Record<string, number> = {}
      let validated = false

      const uniqueName = (base: string): string => {
        const taken = (run as Run).taken
        let name = base
        for (let v = 1; taken.has(name); v++) name = `${base}-v${v}`
        taken.add(name)
        return name
      }

      const save = (e: Savable, forceLast: boolean): void => {
        const r = run
        if (r === undefined || r.fastDevRun) return
        const values = { ...metrics, epoch: e.epoch, step: e.globalStep }
        let written: string | undefined
        let evicted: string[] = []
        let kept = hook.kept
        if (!forceLast && topK !== 0) {
          if (options.monitor === undefined) {
            written = uniqueName(formatCheckpointName(options.filename ?? '{epoch}-{step}', values, options.autoInsertMetricName ?? true))
            const entry = { name: written, score: e.globalStep }
            if (topK === -1) kept = [...kept, entry]
            else {
              evicted = kept.map((k) => k.name)
              kept = [entry]
            }
          } else {
            const score = metrics[options.monitor]
            if (score === undefined) {
              if (validated)
                throw rxtrainError(
                  'ConfigError',
                  `checkpoint monitor '${options.monitor}' was not logged`,
                  `log it from a step, or monitor one of: ${Object.keys(metrics).sort().join(', ')}.`,
                  { monitor: options.monitor },
                )
            } else if (admits(kept, topK, score, mode)) {
              written = uniqueName(formatCheckpointName(options.filename ?? '{epoch}-{step}', values, options.autoInsertMetricName ?? true))
              const admitted = admit(kept, topK, { name: written, score }, mode)
              kept = admitted.kept
              if (admitted.evicted !== undefined) evicted = [admitted.evicted]
            }
          }
        }
        const wantsLast = options.saveLast === true || forceLast
        // A checkpoint kept only as `last` is named like Lightning's last.ckpt, without the
        // template (whose metrics may not be logged yet, e.g. when interrupted early).
        if (written === undefined && wantsLast) written = uniqueName(`last-${formatCheckpointName('{epoch}-{step}', values)}`)
        if (written === undefined) return
        const best = options.monitor === undefined ? (kept.at(-1)?.name ?? null) : (ranked(kept, mode)[0]?.name ?? null)
        const previousLast = hook.last
        const last = wantsLast ? written : hook.last
        // An interrupt's save is extra: the schedule's own save at this step still happens after resuming.
        hook = forceLast ? { ...hook, last } : { kept, best, last, lastGlobalStepSaved: e.globalStep, lastTimeSaved: e.time }
        e.control.setHookState(hookName, hook)
        const name = written
        const keep = new Set([...kept.map((k) => k.name), ...(last === null ? [] : [last]), ...(best === null ? [] : [best])])
        const prune = [...new Set([...evicted, ...(previousLast !== null && previousLast !== last ? [previousLast] : [])])].filter((n) => !keep.has(n))
        const pointBest = best !== null && best === name
        e.control.hold(() => {
          // Runs once every hook has seen the event: the hook states it stores are current.
          const content = {
            state: e.state,
            weightsOnly: options.saveWeightsOnly === true,
            // A stop requested while this event was handled (early stopping) belongs to this state.
            loop: { ...e.loop, stopReason: e.control.pendingStop() ?? e.loop.stopReason },
            hookStates: e.control.hookStates(),
            options: r.options,
            precision: { name: r.start.options.precision, storageDtype: options.dtype ?? resolvePrecision(r.start.options.precision).storageDtype },
            meta: { epoch: e.epoch, step: e.globalStep, monitor: options.monitor ?? null, score: options.monitor === undefined ? null : (metrics[options.monitor] ?? null), event: e.type },
            createdAt: new Date(e.time).toISOString(),
          }
          return pipe(
            saveCheckpoint(fs, r.dir, name, content, { pointLast: wantsLast, pointBest, prune }),
            TE.getOrElse((err): never => {
              throw err
            }),
          )()
        })
      }

      const epochDue = (epoch: number): boolean => everyNEpochs >= 1 && (epoch + 1) % everyNEpochs === 0

      return source.pipe(
        tap((e) => {
          switch (e.type) {
            case 'fitStart': {
              const plan = e.plan
              const restored = e.resumed?.hookStates[hookName]
              hook = isHookState(restored) ? restored : freshState
              metrics = { ...(e.resumed?.loop.lastValidation ?? {}) }
              validated = Object.keys(metrics).length > 0
              const onTrainEpochEnd =
                options.saveOnTrainEpochEnd ??
                (plan.checkValEveryNEpoch !== 1 ? false : plan.numValBatches === 0 ? true : !Number.isFinite(plan.valCheckBatch) || plan.valCheckBatch >= plan.numTrainBatches)
              const dir = options.dir ?? `${e.options.defaultRootDir}/checkpoints`
              claim(e.control, hookName, dir)
              const taken = new Set<string>()
              run = { dir, fastDevRun: plan.fastDevRun, onTrainEpochEnd, options: e.options, start: e, taken }
              if (plan.fastDevRun) break
              e.control.setHookState(hookName, hook)
              // Learn the names already there (never overwrite one) and clear what crashed runs left half-written.
              e.control.hold(
                pipe(
                  fs.mkdir(dir),
                  TE.chainW(() => fs.list(dir)),
                  TE.chainW((names) => {
                    for (const n of names) taken.add(n.replace(/\.json$/, ''))
                    return TE.sequenceSeqArray(names.filter((n) => n.startsWith('.tmp-') || /^\..*\.tmp$/.test(n)).map((n) => fs.remove(`${dir}/${n}`)))
                  }),
                  TE.getOrElse((err): never => {
                    throw err
                  }),
                )(),
              )
              break
            }
            case 'trainStep': {
              metrics = { ...metrics, ...e.metrics }
              if (!e.optimizerStepped || e.globalStep === hook.lastGlobalStepSaved) break
              const byStep = options.everyNTrainSteps !== undefined && options.everyNTrainSteps >= 1 && e.globalStep % options.everyNTrainSteps === 0
              const byTime = options.trainTimeInterval !== undefined && e.time - (hook.lastTimeSaved ?? (run as Run).start.time) >= options.trainTimeInterval
              if (byStep || byTime) save(e, false)
              break
            }
            case 'validationEnd':
              metrics = { ...metrics, ...e.metrics }
              validated = true
              if (run !== undefined && !run.onTrainEpochEnd && epochDue(e.epoch) && e.globalStep !== hook.lastGlobalStepSaved) save(e, false)
              break
            case 'epochEnd':
              metrics = { ...metrics, ...e.callbackMetrics }
              if (run !== undefined && run.onTrainEpochEnd && epochDue(e.epoch) && e.globalStep !== hook.lastGlobalStepSaved) save(e, false)
              break
            case 'fitEnd':
              if (e.reason === 'interrupted' && (options.saveOnInterrupt ?? true)) save(e, true)
              break
            default:
              break
          }
        }),
      )
    })
}

/** The checkpoint hooks of each run (keyed by its fitStart's control), to catch two that would collide. */
const claims = new WeakMap<object, Map<string, string>>()

const claim = (control: object, name: string, dir: string): void => {
  const run = claims.get(control) ?? new Map<string, string>()
  claims.set(control, run)
  if (run.has(name))
    throw rxtrainError('ConfigError', `two checkpoint hooks are named '${name}'`, "give each its own name: checkpoint({ name: 'periodic', ... }).", { name })
  for (const [other, otherDir] of run)
    if (otherDir === dir)
      throw rxtrainError(
        'ConfigError',
        `checkpoint hooks '${other}' and '${name}' both write into ${dir}`,
        "give each its own dir (their pruning and last/best pointers would overwrite each other's).",
        { dir },
      )
  run.set(name, dir)
}

/** Reads a hook state restored from a checkpoint, for tools and tests. */
export const checkpointHookState = (hookStates: Readonly<Record<string, unknown>>, name = 'checkpoint'): E.Either<string, CheckpointHookState> => {
  const s = hookStates[name]
  return isHookState(s) ? E.right(s) : E.left(`no checkpoint hook state named '${name}'`)
}

export { isBetter }
