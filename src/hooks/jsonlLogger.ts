import type { MonoTypeOperatorFunction } from 'rxjs'
import type { FitEvent } from '../pipeline/events.js'
import { bufferedLog, type LogFormat } from './bufferedLog.js'
import type { LogRow } from './logRows.js'

/**
 * `jsonlLogger`'s options: where `metrics.jsonl` goes.
 *
 * @example
 * const options: JsonlLoggerOptions = { dir: 'runs/mnist/jsonl', flushEvery: 1 }
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(jsonlLogger(options)).subscribe()
 */
export interface JsonlLoggerOptions {
  /** The directory of `metrics.jsonl`. Default: the run's `defaultRootDir`. */
  readonly dir?: string
  /** Write after this many new rows (and always at every epoch's end and at the end). Default 100. */
  readonly flushEvery?: number
}

/** JSON has no NaN or Infinity: they are written as the strings "NaN", "Infinity", "-Infinity". */
const value = (v: number): number | string => (Number.isFinite(v) ? v : String(v))

const jsonlFormat: LogFormat = {
  kind: 'jsonlLogger',
  file: 'metrics.jsonl',
  render: (rows, fresh, previous) => {
    const lines = (rs: readonly LogRow[]) =>
      rs
        .map((r) => `${JSON.stringify({ kind: r.kind, epoch: r.epoch, step: r.step, time: r.time, metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, value(v)])) })}\n`)
        .join('')
    return previous === undefined ? { rewrite: lines(rows) } : { append: lines(fresh) }
  },
  parse: (text) =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const r = JSON.parse(l) as { kind: LogRow['kind']; epoch: number; step: number; time: number; metrics: Record<string, number | string> }
        return { ...r, metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, Number(v)])) }
      }),
}

/**
 * Logs one JSON object per line to `metrics.jsonl`: `{ kind, epoch, step, time, metrics }`, where
 * kind is `train`, `val` or `epoch`. Easy to stream into any tool (`jq`, pandas `read_json(lines=True)`).
 * Files go through the run's file system (`fit`'s `env.fs`); its state in checkpoints is under
 * `jsonlLogger`. On resume it continues the file from exactly the rows its checkpoint had seen.
 *
 * @example
 * fit(module, { train, val }, { defaultRootDir: 'runs/mnist/version_0' }).pipe(jsonlLogger({ flushEvery: 10 }))
 */
export const jsonlLogger = (options: JsonlLoggerOptions = {}): MonoTypeOperatorFunction<FitEvent> =>
  bufferedLog(jsonlFormat, {
    ...(options.dir !== undefined && { dir: options.dir }),
    ...(options.flushEvery !== undefined && { flushEvery: options.flushEvery }),
  })
