import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import { defer, type MonoTypeOperatorFunction, tap } from 'rxjs'
import type { FileSystem } from '../effects/fileSystem.js'
import type { FitEvent, FitStart } from '../pipeline/events.js'
import { type LogRow, logRowOf } from './logRows.js'

/** How one text logger lays out its file. */
export interface LogFormat {
  /** The hook's name, for its state in checkpoints. */
  readonly name: string
  readonly file: string
  /**
   * The whole file's text for `rows` (rows are kept so that a format whose header grows, like
   * CSV's, can rewrite it), or `undefined` to append `appendText` instead.
   */
  render(rows: readonly LogRow[], newRows: readonly LogRow[], previousText: string | undefined): { readonly rewrite: string } | { readonly append: string }
  /** Parses the rows back from an existing file (to continue it on resume). */
  parse(text: string): LogRow[]
}

export interface BufferedLogOptions {
  readonly dir?: string
  readonly fs: FileSystem
  /** Write after this many new rows (and always at epoch end and at the end). Default 100. */
  readonly flushEvery?: number
  /** Extra work at fitStart (e.g. hparams.yaml), given the run directory. */
  readonly onStart?: (e: FitStart, dir: string) => TE.TaskEither<unknown, void>
}

/** A text logger's checkpointed state: the rows logged, and those not yet known to be on disk. */
interface LogState {
  readonly count: number
  readonly tail: readonly LogRow[]
}

const asLogState = (u: unknown): LogState | undefined =>
  typeof u === 'object' && u !== null && typeof (u as { count?: unknown }).count === 'number' && Array.isArray((u as { tail?: unknown }).tail)
    ? (u as LogState)
    : undefined

const orThrow = <A>(te: TE.TaskEither<unknown, A>): (() => Promise<A>) =>
  pipe(
    te,
    TE.getOrElse((e): never => {
      throw e
    }),
  )

/**
 * The shared engine of the text loggers: collects the rows of `logRowOf`, writes them through the
 * file-system capability while holding the stream (at most every `flushEvery` rows, at every
 * epoch end, at the end), and on resume continues the file from exactly the rows the checkpoint
 * had seen (its state is the number of rows logged).
 */
export const bufferedLog = (format: LogFormat, options: BufferedLogOptions): MonoTypeOperatorFunction<FitEvent> => {
  const { fs } = options
  const flushEvery = options.flushEvery ?? 100
  return (source) =>
    defer(() => {
      let path: string | undefined
      let rows: LogRow[] = []
      // Rows handed to a write, and rows known to be on disk (the write finished).
      let written = 0
      let durable = 0
      let text: string | undefined
      let quiet = false
      /**
       * The hook's state in checkpoints: how many rows there are, and those not known to be on disk
       * (a crash may still lose them from the file), so a resumed run rebuilds exactly these rows.
       */
      const record = (e: FitEvent): void => {
        e.control.setHookState(format.name, { count: rows.length, tail: rows.slice(durable) } satisfies LogState)
      }
      const flush = (e: FitEvent): void => {
        if (path === undefined || quiet || written === rows.length) return
        const target = path
        const all = rows
        const fresh = rows.slice(written)
        written = rows.length
        const upTo = written
        e.control.hold(async () => {
          const out = format.render(all, fresh, text)
          if ('rewrite' in out) {
            text = out.rewrite
            await orThrow(fs.writeFileAtomic(target, out.rewrite))()
          } else {
            text = (text ?? '') + out.append
            await orThrow(fs.appendFile(target, out.append))()
          }
          durable = Math.max(durable, upTo)
        })
      }
      return source.pipe(
        tap((e) => {
          if (e.type === 'fitStart') {
            quiet = e.plan.fastDevRun
            if (quiet) return
            const dir = options.dir ?? e.options.defaultRootDir
            path = `${dir}/${format.file}`
            const restored = e.resumed === undefined ? undefined : asLogState(e.resumed.hookStates[format.name])
            const target = path
            rows = []
            written = 0
            durable = 0
            record(e)
            e.control.hold(async () => {
              await orThrow(fs.mkdir(dir))()
              if (options.onStart !== undefined) await orThrow(options.onStart(e, dir))()
              if (restored !== undefined) {
                // The rows the checkpoint had seen: those it knew were on disk, then its own copy of the rest.
                const existing = await fs.readText(target)()
                const onDisk = existing._tag === 'Right' ? format.parse(existing.right) : []
                rows = [...onDisk.slice(0, restored.count - restored.tail.length), ...restored.tail]
              }
              written = rows.length
              durable = rows.length
              const rewritten = format.render(rows, [], undefined)
              text = 'rewrite' in rewritten ? rewritten.rewrite : ''
              await orThrow(fs.writeFileAtomic(target, text))()
            })
            return
          }
          const row = logRowOf(e)
          if (quiet) return
          if (row !== undefined) rows.push(row)
          if ((row !== undefined && rows.length - written >= flushEvery) || e.type === 'epochEnd' || e.type === 'fitEnd') flush(e)
          record(e)
        }),
      )
    })
}
