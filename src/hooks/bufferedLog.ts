import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { MonoTypeOperatorFunction } from 'rxjs'
import type { FileSystem } from '../effects/fileSystem.js'
import { hook } from '../flow/hook.js'
import { perform, update } from '../flow/hookEffect.js'
import type { HookResult } from '../flow/hookSpec.js'
import type { FitEvent, FitStart } from '../pipeline/events.js'
import { type LogRow, LogRowCodec, logRowsOf } from './logRows.js'
import { orThrow } from '../errors/orThrow.js'

/** How one text logger lays out its file. */
export interface LogFormat {
  /** The hook's kind: the key of its state in checkpoints. */
  readonly kind: string
  readonly file: string
  /**
   * The whole file's text for `rows` (rows are kept so that a format whose header grows, like
   * CSV's, can rewrite it), or the text to append for `newRows`.
   */
  render(rows: readonly LogRow[], newRows: readonly LogRow[], previousText: string | undefined): { readonly rewrite: string } | { readonly append: string }
  /** Parses the rows back from an existing file (to continue it on resume). */
  parse(text: string): LogRow[]
}

export interface BufferedLogOptions {
  readonly dir?: string
  /** Write after this many new rows (and always at epoch end and at the end). Default 100. */
  readonly flushEvery?: number
  /** Extra work at fitStart (e.g. hparams.yaml), given the run directory and the run's file system. */
  readonly onStart?: (e: FitStart, dir: string, fs: FileSystem) => TE.TaskEither<unknown, void>
}

/** What a text logger's checkpoint stores: how many rows were logged, and those not known to be on disk (a crash may still lose them from the file). */
const LogCheckpointCodec = t.type({ count: t.number, tail: t.readonlyArray(LogRowCodec) })
type LogCheckpoint = t.TypeOf<typeof LogCheckpointCodec>

/** This run's file and rows, from `fitStart` on. */
interface Logging {
  readonly phase: 'logging'
  readonly path: string
  /** Append-only, shared by successive states: this state's rows are `rows[0, count)`. */
  readonly rows: LogRow[]
  readonly count: number
  /** Rows handed to a write. */
  readonly written: number
  /** Rows known to be on disk (their write has finished). */
  readonly durable: number
  /** The file's text once the writes handed out have finished. */
  readonly text: string | undefined
  /** A training row held back until the loop says whether a stop came (see `logRowsOf`). */
  readonly held?: LogRow
}

/** Before `fitStart`: nothing logged (the initial state), or what a checkpoint restored. In a `fastDevRun`: quiet. */
type LogState = ({ readonly phase: 'idle' } & LogCheckpoint) | { readonly phase: 'quiet' } | Logging

const checkpointOf = (s: LogState): LogCheckpoint =>
  s.phase === 'idle' ? { count: s.count, tail: s.tail } : s.phase === 'quiet' ? { count: 0, tail: [] } : { count: s.count, tail: s.rows.slice(s.durable, s.count) }

/** The state's checkpointed part is `{ count, tail }` (as before the hook API); the rest is rebuilt from the file on resume. */
const LogStateCodec = new t.Type<LogState, LogCheckpoint, unknown>(
  'LogState',
  (u): u is LogState => typeof u === 'object' && u !== null && ['idle', 'quiet', 'logging'].includes((u as { phase?: unknown }).phase as string),
  (u, c) => pipe(LogCheckpointCodec.validate(u, c), E.map((s): LogState => ({ phase: 'idle', count: s.count, tail: s.tail }))),
  checkpointOf,
)

/** Appends a row to the state's rows without copying them (copying only if a later state already appended). */
const withRow = (s: Logging, row: LogRow): Logging => {
  const rows = s.rows.length === s.count ? s.rows : s.rows.slice(0, s.count)
  rows.push(row)
  return { ...s, rows, count: s.count + 1 }
}

/**
 * The shared engine of the text loggers: collects the rows of `logRowOf`, writes them through the
 * run's file system (at most every `flushEvery` rows, at every epoch end, at the end), and on
 * resume continues the file from exactly the rows the checkpoint had seen: those it knew were on
 * disk, read back from the file, then its own copy of the rest.
 */
export const bufferedLog = (format: LogFormat, options: BufferedLogOptions): MonoTypeOperatorFunction<FitEvent> => {
  const flushEvery = options.flushEvery ?? 100

  const flush = (s: Logging, fs: FileSystem): HookResult<LogState> => {
    if (s.written === s.count) return [s]
    const all = s.rows.length === s.count ? s.rows : s.rows.slice(0, s.count)
    const out = format.render(all, all.slice(s.written), s.text)
    const path = s.path
    const next: Logging = { ...s, written: s.count, text: 'rewrite' in out ? out.rewrite : (s.text ?? '') + out.append }
    return [next, [perform(() => orThrow('rewrite' in out ? fs.writeFileAtomic(path, out.rewrite) : fs.appendFile(path, out.append)))]]
  }

  /** Creates the directory and the file: the checkpoint's rows (read back, then its tail), or none. */
  const start = (e: FitStart, s: LogState, fs: FileSystem): HookResult<LogState> => {
    const dir = options.dir ?? e.options.defaultRootDir
    const path = `${dir}/${format.file}`
    const restored = s.phase === 'idle' ? s : { count: 0, tail: [] }
    const logging: Logging = { phase: 'logging', path, rows: [], count: 0, written: 0, durable: 0, text: undefined }
    const setup = async (): Promise<(state: LogState) => LogState> => {
      await orThrow(fs.mkdir(dir))
      if (options.onStart !== undefined) await orThrow(options.onStart(e, dir, fs))
      const onDiskCount = restored.count - restored.tail.length
      let onDisk: LogRow[] = []
      if (onDiskCount > 0) {
        const existing = await fs.readText(path)()
        onDisk = E.isRight(existing) ? format.parse(existing.right) : []
      }
      const rows = [...onDisk.slice(0, onDiskCount), ...restored.tail]
      const out = format.render(rows, [], undefined)
      const text = 'rewrite' in out ? out.rewrite : ''
      await orThrow(fs.writeFileAtomic(path, text))
      return (state) => (state.phase === 'logging' ? { ...state, rows, count: rows.length, written: rows.length, durable: rows.length, text } : state)
    }
    return [logging, [update(setup)]]
  }

  return hook<LogState, FitEvent>({
    kind: format.kind,
    on: ['fitStart', 'trainStep', 'validationStep', 'validationEnd', 'epochEnd', 'fitEnd'],
    codec: LogStateCodec,
    init: () => ({ phase: 'idle', count: 0, tail: [] }),
    step: (state, e, ctx) => {
      if (e.type === 'fitStart') return e.plan.fastDevRun ? [{ phase: 'quiet' }] : start(e, state, ctx.env.fs)
      if (state.phase !== 'logging') return [state]
      // The write handed out at an earlier event has finished: the run waited for it.
      let s: Logging = { ...state, durable: state.written }
      const { rows, held } = logRowsOf(s.held, e)
      for (const row of rows) s = withRow(s, row)
      s = held === undefined ? (s.held === undefined ? s : { ...s, held: undefined }) : { ...s, held }
      return (rows.length > 0 && s.count - s.written >= flushEvery) || e.type === 'epochEnd' || e.type === 'fitEnd' ? flush(s, ctx.env.fs) : [s]
    },
  })
}
