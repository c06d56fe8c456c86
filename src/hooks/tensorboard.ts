import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { defer, finalize, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs'
import type { FileError, FileSystem } from '../effects/fileSystem.js'
import { nodeFileSystem } from '../effects/nodeFileSystem.js'
import { liveProcessInfo, type ProcessInfo } from '../effects/processInfo.js'
import type { FitEvent, FitStart } from '../pipeline/events.js'
import { fileVersionEvent, scalarsEvent, sessionStartEvent } from './tensorboard/eventProto.js'
import { logRowOf } from './logRows.js'
import { type HParams, hparamsEvent, hparamsOf } from './tensorboard/hparams.js'
import { concatBytes, tfRecord } from './tensorboard/tfrecord.js'

export interface TensorBoardOptions {
  /** The directory of the event files (TensorBoard's "run"). Default: the run's `defaultRootDir`. */
  readonly dir?: string
  /** Where files go (the disk by default; a `memoryFileSystem()` in tests). */
  readonly fs?: FileSystem
  /** Host name and pid for the file name (the live process's by default). */
  readonly processInfo?: ProcessInfo
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

/** Runs a file operation, failing the promise with its `FileError`. */
const perform = async <A>(task: TE.TaskEither<FileError, A>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw result.left
  return result.right
}

/**
 * Writes the run's logged values as TensorBoard event files (`tensorboard --logdir <dir>`):
 * every logged training step, validation and epoch, each metric a scalar tagged with its name at
 * the row's step; and the run's hyperparameters (trainer options and `hparams`) for the HParams
 * dashboard. Each run (and each resumed run) starts a new file in the directory, which
 * TensorBoard reads as one run. Records are buffered and appended through `control.hold` every
 * `flushEvery` records, at every epoch's end and at the end of training, so the loop waits for
 * the disk. A `fastDevRun` writes nothing. Events pass through unchanged.
 *
 * @example
 * fit(module, data, { maxEpochs: 10, defaultRootDir: 'runs/mnist' })
 *   .pipe(tensorboard({ hparams: { hidden: 128 } }))
 *   .subscribe()
 */
export const tensorboard = (options: TensorBoardOptions | string = {}): MonoTypeOperatorFunction<FitEvent> => {
  const o: TensorBoardOptions = typeof options === 'string' ? { dir: options } : options
  const fs = o.fs ?? nodeFileSystem
  const info = o.processInfo ?? liveProcessInfo
  const flushEvery = Math.max(1, o.flushEvery ?? 100)
  return (source: Observable<FitEvent>) =>
    defer(() => {
      // Per subscription: each run writes its own file.
      let active = false
      let file: string | undefined
      let pending: Uint8Array[] = []
      // Writes run one after another, in order, even a last one started on teardown.
      let written: Promise<void> = Promise.resolve()

      const flush = (): Promise<void> => {
        if (pending.length === 0) return written
        const chunk = concatBytes(pending)
        pending = []
        written = written.then(() => perform(fs.appendFile(file as string, chunk)))
        return written
      }

      const create = (event: FitStart): void => {
        const dir = o.dir ?? event.options.defaultRootDir
        const wallTime = event.time / 1000
        pending.push(tfRecord(fileVersionEvent(wallTime)))
        // A resumed run restarts the session where its checkpoint was (Lightning's loggers append instead).
        if (event.resumed !== undefined) pending.push(tfRecord(sessionStartEvent(wallTime, event.resumed.loop.globalStep, event.resumed.from)))
        if (o.hparams !== false) pending.push(tfRecord(hparamsEvent(hparamsOf(event.options, o.hparams), wallTime)))
        written = (async () => {
          await perform(fs.mkdir(dir))
          const taken = new Set(await perform(fs.list(dir)))
          let n = 0
          const name = (k: number) => eventFileName(event.time, info.hostname(), info.pid(), k)
          while (taken.has(name(n))) n++
          file = joinPath(dir, name(n))
          await perform(fs.writeFile(file, new Uint8Array()))
        })()
        event.control.hold(flush)
      }

      return source.pipe(
        tap((event) => {
          if (event.type === 'fitStart') {
            active = !event.plan.fastDevRun
            if (active) create(event)
            return
          }
          if (!active) return
          const row = logRowOf(event)
          if (row !== undefined) pending.push(tfRecord(scalarsEvent(row.time / 1000, row.step, row.metrics)))
          if (event.type === 'epochEnd' || event.type === 'fitEnd' || pending.length >= flushEvery) event.control.hold(flush)
        }),
        // A run cut short (unsubscribed, or failed) still gets what it logged, as far as it can.
        finalize(() => {
          if (active && pending.length > 0) flush().catch(() => undefined)
        }),
      )
    })
}
