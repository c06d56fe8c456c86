import * as t from 'io-ts'
import type { FitEvent, Metrics } from '../pipeline/events.js'

/** One row a logger writes: where in training it was logged, and the values. */
export interface LogRow {
  /** `train` (a step), `val` (a validation), `epoch` (an epoch's training values). */
  readonly kind: 'train' | 'val' | 'epoch'
  readonly epoch: number
  readonly step: number
  /** Wall-clock time of the event, ms since the Unix epoch. */
  readonly time: number
  readonly metrics: Metrics
}

/** A row in a logger's checkpointed state (rows not yet on disk when the checkpoint was written). */
export const LogRowCodec: t.Type<LogRow, LogRow, unknown> = t.type({
  kind: t.keyof({ train: null, val: null, epoch: null }),
  epoch: t.number,
  step: t.number,
  time: t.number,
  metrics: t.record(t.string, t.number),
})

/**
 * The row an event contributes to the logs, if any (Lightning's logging rules): a training step
 * when `shouldLog`, every validation, and each epoch's training values. Every logger (CSV,
 * JSONL, TensorBoard) writes exactly these rows, at these steps.
 */
export const logRowOf = (e: FitEvent): LogRow | undefined => {
  switch (e.type) {
    case 'trainStep':
      return e.shouldLog && Object.keys(e.metrics).length > 0 ? { kind: 'train', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    case 'validationStep':
      return !e.sanity && Object.keys(e.metrics).length > 0 ? { kind: 'val', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    case 'validationEnd':
      return Object.keys(e.metrics).length > 0 ? { kind: 'val', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    case 'epochEnd':
      return Object.keys(e.metrics).length > 0 ? { kind: 'epoch', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    default:
      return undefined
  }
}

/** The rows an event gives a logger, and a training row held back for the next event. */
export interface RowsOf {
  readonly rows: readonly LogRow[]
  readonly held: LogRow | undefined
}

/**
 * `logRowOf` with Lightning's rule for a stop: the row of an optimizer step that `logEveryNSteps`
 * skips is held back, and written at the next event that carries the loop's state if a stop was
 * requested by then (a stop asked for while that step was handled still writes its row, as
 * Lightning's `should_stop` does); otherwise it is dropped there.
 */
export const logRowsOf = (held: LogRow | undefined, e: FitEvent): RowsOf => {
  const own = logRowOf(e)
  const ownRows = own === undefined ? [] : [own]
  if (!('loop' in e)) return { rows: ownRows, held }
  const released = held !== undefined && e.loop.stopReason !== null ? [held] : []
  const next =
    e.type === 'trainStep' && own === undefined && e.optimizerStepped && Object.keys(e.metrics).length > 0
      ? { kind: 'train' as const, epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics }
      : undefined
  return { rows: released.length === 0 ? ownRows : [...released, ...ownRows], held: next }
}

/** Hyperparameter values every logger can show: numbers, strings and booleans. */
export type HParams = Readonly<Record<string, number | string | boolean>>

/** Trainer options that say where, not how, a run trains (and change when it resumes). */
const notHyperparameters: ReadonlySet<string> = new Set(['defaultRootDir', 'ckptPath'])

const flattenInto = (out: Record<string, number | string | boolean>, prefix: string, value: unknown): void => {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[prefix] = value
  else if (typeof value === 'object' && value !== null && !Array.isArray(value))
    for (const [k, v] of Object.entries(value)) flattenInto(out, prefix === '' ? k : `${prefix}.${k}`, v)
  // functions, undefined, null and arrays are not hyperparameters a logger can show
}

/**
 * A run's hyperparameters as flat name → scalar pairs: the resolved trainer options (nested
 * records such as `{ fraction: 0.5 }` flattened to `limitTrainBatches.fraction`; paths,
 * `undefined`, `null` and functions left out), then the user's own, which win on a clash. The
 * CSV logger's `hparams.yaml` and TensorBoard's HParams dashboard show exactly these.
 */
export const runHparams = (options: object, extra: Readonly<Record<string, unknown>> = {}): HParams => {
  const out: Record<string, number | string | boolean> = {}
  for (const [k, v] of Object.entries(options)) if (!notHyperparameters.has(k)) flattenInto(out, k, v)
  for (const [k, v] of Object.entries(extra)) flattenInto(out, k, v)
  return out
}
