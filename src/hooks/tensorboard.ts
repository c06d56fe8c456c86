import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { defer, finalize, type MonoTypeOperatorFunction, type Observable } from 'rxjs'
import type { Env } from '../effects/env.js'
import type { FileSystem } from '../effects/fileSystem.js'
import type { ProcessInfo } from '../effects/processInfo.js'
import { hook } from '../flow/hook.js'
import { perform, update } from '../flow/hookEffect.js'
import type { HookResult } from '../flow/hookSpec.js'
import type { FitEvent, FitStart } from '../pipeline/events.js'
import { fileVersionEvent, scalarsEvent, sessionStartEvent } from './tensorboard/eventProto.js'
import { type LogRow, LogRowCodec, logRowsOf } from './logRows.js'
import { type HParams, hparamsEvent, hparamsOf } from './tensorboard/hparams.js'
import { concatBytes, tfRecord } from './tensorboard/tfrecord.js'
import { orThrow } from '../errors/orThrow.js'

/**
 * Lightning `TensorBoardLogger`'s options: where the event files go and the hyperparameters to record.
 *
 * @example
 * const options: TensorBoardOptions = { dir: 'runs/tb/adam-1e-3', hparams: { optimizer: 'adam', lr: 1e-3 }, flushEvery: 20 }
 * fit(module, { train, val }, { maxEpochs: 10 }).pipe(tensorboard(options)).subscribe()
 * // then: tensorboard --logdir runs/tb
 */
export interface TensorBoardOptions {
  /** The directory of the event files (TensorBoard's "run"). Default: the run's `defaultRootDir`. */
  readonly dir?: string
  /** Write buffered records once this many have gathered (they are also written at every epoch's end and at the end). Default 100. */
  readonly flushEvery?: number
  /**
   * Hyperparameters for TensorBoard's HParams dashboard, added to the trainer options (and
   * winning on a clash); `false` writes no hyperparameters.
   */
  readonly hparams?: HParams | false
}

const EVENT_FILE_PREFIX = 'events.out.tfevents.'

/** `events.out.tfevents.<unix seconds>.<host>.<pid>.<n>`, TensorBoard's event file name. */
export const eventFileName = (timeMs: number, host: string, pid: number, n: number): string =>
  `${EVENT_FILE_PREFIX}${Math.floor(timeMs / 1000)}.${host.replace(/[/\\\s]/g, '_')}.${pid}.${n}`

const joinPath = (dir: string, name: string): string => (dir === '' ? name : dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`)

/** What a checkpoint stores: the rows logged but not yet handed to a write, and a training row held back (see `logRowsOf`). */
const TbCheckpointCodec = t.intersection([t.type({ pending: t.readonlyArray(LogRowCodec) }), t.partial({ held: LogRowCodec })])
type TbCheckpoint = t.TypeOf<typeof TbCheckpointCodec>

/**
 * Before `fitStart`: the rows a checkpoint had not yet written (none in a fresh run). In a
 * `fastDevRun`: quiet. Else the run's file (once created) and the rows not yet handed to a write.
 */
type TbState =
  | ({ readonly phase: 'idle' } & TbCheckpoint)
  | { readonly phase: 'quiet' }
  | { readonly phase: 'writing'; readonly file: string | undefined; readonly pending: readonly LogRow[]; readonly held?: LogRow | undefined }

const idle: TbState = { phase: 'idle', pending: [] }

const checkpointOf = (s: TbState): TbCheckpoint =>
  s.phase === 'quiet' ? { pending: [] } : { pending: s.pending, ...(s.held !== undefined && { held: s.held }) }

/**
 * The checkpointed part of the state. A checkpoint is written once every hook has handled its
 * event and the writes they started have finished, so the rows handed to a write are in the file
 * by then; the others are stored, and a run resumed from the checkpoint writes them first.
 */
const TbStateCodec = new t.Type<TbState, TbCheckpoint, unknown>(
  'TensorBoardState',
  (u): u is TbState => typeof u === 'object' && u !== null && ['idle', 'quiet', 'writing'].includes((u as { phase?: unknown }).phase as string),
  (u, c) => pipe(TbCheckpointCodec.validate(u, c), E.map((s): TbState => ({ phase: 'idle', ...s }))),
  checkpointOf,
)

/** The rows as TFRecord-framed scalar events, at their own steps and wall times. */
const records = (rows: readonly LogRow[]): Uint8Array => concatBytes(rows.map((row) => tfRecord(scalarsEvent(row.time / 1000, row.step, row.metrics))))

/**
 * Writes the run's logged values as TensorBoard event files (`tensorboard --logdir <dir>`):
 * every logged training step, validation and epoch, each metric a scalar tagged with its name at
 * the row's step; and the run's hyperparameters (trainer options, the module's as `model.*`, and `hparams`) for the HParams
 * dashboard. Each run (and each resumed run) starts a new file in the directory, which
 * TensorBoard reads as one run. Records are buffered and appended through the run's file system
 * (`fit`'s `env.fs`) every `flushEvery` records, at every epoch's end and at the end of training,
 * and the loop waits for the disk; a run cut short (unsubscribed, or failed) still gets what it
 * logged, as far as it can. A checkpoint stores (under `tensorboard`) the rows not yet written
 * when it was taken, and a run resumed from it writes them first, so even a killed run (SIGKILL)
 * loses no point that its checkpoint covers: the resumed run's file holds them, and those it logs
 * again after the checkpoint have the same values. A `fastDevRun` writes nothing. Events pass
 * through unchanged.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 10, defaultRootDir: 'runs/mnist' })
 *   .pipe(tensorboard({ hparams: { hidden: 128 } }))
 *   .subscribe()
 */
export const tensorboard = (options: TensorBoardOptions | string = {}): MonoTypeOperatorFunction<FitEvent> => {
  const o: TensorBoardOptions = typeof options === 'string' ? { dir: options } : options
  const flushEvery = Math.max(1, o.flushEvery ?? 100)
  return (source: Observable<FitEvent>) =>
    defer(() => {
      // Per subscription: each run writes its own file. Writes run one after another, in order,
      // even a last one started on teardown.
      let written: Promise<unknown> = Promise.resolve()
      const write = <A>(work: () => Promise<A>): Promise<A> => {
        const done = written.then(work)
        written = done
        return done
      }
      // The latest state and the run's file system, for the write on teardown: the hook API has no
      // effect for a run that ends without fitEnd.
      let latest: TbState = idle
      let runFs: FileSystem | undefined
      const keep = (s: TbState): TbState => (latest = s)

      /**
       * The records at the start of the file (a resumed run's include the rows its checkpoint had
       * not yet written), and the work that creates it (the first free number in the directory).
       */
      const create = (s: TbState, event: FitStart, fs: FileSystem, info: ProcessInfo): HookResult<TbState> => {
        const dir = o.dir ?? event.options.defaultRootDir
        const wallTime = event.time / 1000
        const head: Uint8Array[] = [tfRecord(fileVersionEvent(wallTime))]
        // A resumed run restarts the session where its checkpoint was (Lightning's loggers append instead).
        if (event.resumed !== undefined) head.push(tfRecord(sessionStartEvent(wallTime, event.resumed.loop.globalStep, event.resumed.from)))
        if (o.hparams !== false) head.push(tfRecord(hparamsEvent(hparamsOf(event.options, o.hparams, event.hparams), wallTime)))
        const restored: TbCheckpoint = s.phase === 'idle' ? s : { pending: [] }
        head.push(records(restored.pending))
        const setup = async (): Promise<(s: TbState) => TbState> => {
          const file = await write(async () => {
            await orThrow(fs.mkdir(dir))
            const taken = new Set(await orThrow(fs.list(dir)))
            let n = 0
            const name = (k: number) => eventFileName(event.time, info.hostname(), info.pid(), k)
            while (taken.has(name(n))) n++
            const path = joinPath(dir, name(n))
            await orThrow(fs.writeFile(path, new Uint8Array()))
            await orThrow(fs.appendFile(path, concatBytes(head)))
            return path
          })
          return (s) => keep(s.phase === 'writing' ? { ...s, file } : s)
        }
        return [keep({ phase: 'writing', file: undefined, pending: [], ...(restored.held !== undefined && { held: restored.held }) }), [update(setup)]]
      }

      const step = (s: TbState, event: FitEvent, { fs, processInfo }: Env): HookResult<TbState> => {
        if (event.type === 'fitStart') return event.plan.fastDevRun ? [keep({ phase: 'quiet' })] : create(s, event, fs, processInfo)
        if (s.phase !== 'writing') return [s]
        const { rows, held } = logRowsOf(s.held, event)
        const pending = rows.length === 0 ? s.pending : [...s.pending, ...rows]
        const file = s.file
        if (file === undefined || pending.length === 0 || !(event.type === 'epochEnd' || event.type === 'fitEnd' || pending.length >= flushEvery))
          return [keep({ ...s, pending, held })]
        return [keep({ ...s, pending: [], held }), [perform(() => write(() => orThrow(fs.appendFile(file, records(pending)))))]]
      }

      return source.pipe(
        hook<TbState, FitEvent>({
          kind: 'tensorboard',
          on: ['fitStart', 'trainStep', 'validationStep', 'validationEnd', 'epochEnd', 'fitEnd'],
          codec: TbStateCodec,
          init: () => idle,
          step: (s, event, ctx) => {
            runFs = ctx.env.fs
            return step(s, event, ctx.env)
          },
        }),
        // A run cut short (unsubscribed, or failed) still gets what it logged, as far as it can.
        finalize(() => {
          const last = latest
          const fs = runFs
          if (fs !== undefined && last.phase === 'writing' && last.file !== undefined && last.pending.length > 0) {
            const file = last.file
            write(() => orThrow(fs.appendFile(file, records(last.pending)))).catch(() => undefined)
          }
        }),
      )
    })
}
