import type { MonoTypeOperatorFunction } from 'rxjs'
import type { FileSystem } from '../effects/fileSystem.js'
import { nodeFileSystem } from '../effects/nodeFileSystem.js'
import type { FitEvent } from '../pipeline/events.js'
import { bufferedLog, type LogFormat } from './bufferedLog.js'
import type { LogRow } from './logRows.js'

export interface JsonlLoggerOptions {
  /** The directory of `metrics.jsonl`. Default: the run's `defaultRootDir`. */
  readonly dir?: string
  readonly flushEvery?: number
  readonly fs?: FileSystem
}

/** JSON has no NaN or Infinity: they are written as the strings "NaN", "Infinity", "-Infinity". */
const value = (v: number): number | string => (Number.isFinite(v) ? v : String(v))

const jsonlFormat: LogFormat = {
  name: 'jsonlLogger',
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
 */
export const jsonlLogger = (options: JsonlLoggerOptions = {}): MonoTypeOperatorFunction<FitEvent> =>
  bufferedLog(jsonlFormat, {
    fs: options.fs ?? nodeFileSystem,
    ...(options.dir !== undefined && { dir: options.dir }),
    ...(options.flushEvery !== undefined && { flushEvery: options.flushEvery }),
  })
