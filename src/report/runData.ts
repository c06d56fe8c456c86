/**
 * What the report knows of one run folder, as plain data: the logged scalars in long form, the
 * files beside them, and the checkpoints. `readRun` fills it from disk; the chart specs and the
 * HTML are pure functions of it, so tests build it by hand.
 */

/** One logged value: a metric's value at a step (one cell of metrics.csv, one entry of metrics.jsonl). */
export interface MetricPoint {
  readonly name: string
  readonly epoch: number
  /** The logged step (the global step, as the loggers write it). */
  readonly step: number
  readonly value: number
}

/** A checkpoint folder of the run, and what its manifest says. */
export interface CheckpointEntry {
  /** The folder's name inside the checkpoint directory. */
  readonly name: string
  /** The checkpoint directory, relative to the run folder (`checkpoints`). */
  readonly dir: string
  readonly epoch?: number
  readonly step?: number
  readonly monitor?: string
  readonly score?: number
  readonly createdAt?: string
  readonly precision?: string
  /** Named by `best.json` / `last.json`. */
  readonly best: boolean
  readonly last: boolean
  /** Why the manifest could not be read, when it could not. */
  readonly problem?: string
}

/** `result.json`, as `rxtrain fit` writes it at the end of a run (every field optional here: older or partial files still report). */
export interface RunResult {
  readonly status?: string
  readonly reason?: string
  readonly error?: string
  readonly epoch?: number
  readonly globalStep?: number
  readonly metrics?: Readonly<Record<string, number>>
  readonly monitor?: string
  readonly best?: { readonly checkpoint?: string; readonly score?: number }
  readonly test?: Readonly<Record<string, number>>
  readonly startedAt?: string
  readonly endedAt?: string
  readonly durationMs?: number
  readonly backend?: string
  readonly precision?: string
  readonly versions?: Readonly<Record<string, string>>
}

/** A learning-rate range test: the loss at each tried learning rate, and the suggested one. */
export interface LrFinderCurve {
  readonly points: readonly { readonly lr: number; readonly loss: number }[]
  readonly suggestion?: number
}

/** A profiler's summary: one row per action, scalar cells (shown as a table). */
export interface ProfilerTable {
  readonly columns: readonly string[]
  readonly rows: readonly Readonly<Record<string, string | number>>[]
}

export interface RunData {
  /** The folder as given. */
  readonly dir: string
  /** The name charts and tables use for it (the shortest path suffix that tells the runs apart). */
  readonly label: string
  /** Which metrics file the points came from, if any. */
  readonly metricsFile?: 'metrics.csv' | 'metrics.jsonl'
  readonly points: readonly MetricPoint[]
  /** Wall-clock span of the logged rows (metrics.jsonl has times; metrics.csv has none). */
  readonly loggedSpanMs?: number
  readonly hparams?: Readonly<Record<string, unknown>>
  /** config.yaml's text, as written (the resolved config of `rxtrain fit`). */
  readonly configText?: string
  readonly result?: RunResult
  readonly checkpoints: readonly CheckpointEntry[]
  readonly lrFinder?: LrFinderCurve
  readonly profiler?: ProfilerTable
  /** Files present but unreadable, and similar notes to show in the report. */
  readonly notes: readonly string[]
}
