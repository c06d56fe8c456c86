import * as tf from '@tensorflow/tfjs-core'
import type { Semigroup } from 'fp-ts/lib/Semigroup.js'
import { isStat, type Stat, statMonoid } from '../metrics/stat.js'
import { type HostMetricState, isMetricState, mergeStats, type MetricState, metricValue, publishedValues } from '../metrics/metricState.js'
import type { MetricSpec } from '../core/metricSpec.js'

// Minimum and maximum as semigroups that keep a NaN (a non-finite logged value must show).
const minNumber: Semigroup<number> = { concat: (a, b) => Math.min(a, b) }
const maxNumber: Semigroup<number> = { concat: (a, b) => Math.max(a, b) }

export type { Reduction } from '../core/accumulated.js'
import type { Reduction } from '../core/accumulated.js'

/** A scalar to log: a one-element tensor or a number. */
export type LogScalar = tf.Tensor | number

/**
 * A logged value with Lightning's `self.log` options. Defaults follow Lightning: training values
 * log per step, validation and test values per epoch; `mean` weighted by the batch size.
 *
 * @example
 * const loss = nn.softmaxCrossEntropy(logits, labels)
 * const worst: LogEntry = { value: loss, reduce: 'max', onStep: false, onEpoch: true }
 * const logs: Logs = { 'train/loss': loss, 'train/worstLoss': worst }
 */
export interface LogEntry {
  readonly value: LogScalar | Stat | MetricState
  /** How the value combines over an epoch; a metric state always merges by its own monoid. */
  readonly reduce?: Reduction
  readonly onStep?: boolean
  readonly onEpoch?: boolean
  /** Show on the progress bar. */
  readonly progBar?: boolean
  /** Weight of this value in an epoch mean; defaults to the batch size. */
  readonly weight?: number
}

/**
 * What a step may log under a name: a scalar, a metric stat, or an entry with options.
 *
 * @example
 * const values: LogValue[] = [0.5, nn.softmaxCrossEntropy(logits, labels), metrics.accuracy(logits, labels), log(0.5, { progBar: true })]
 */
export type LogValue = LogScalar | Stat | MetricState | LogEntry

/**
 * A step's logs, e.g. `{ 'train/loss': loss, 'val/acc': accuracy(logits, y) }`.
 *
 * @example
 * const net = nn.dense({ units: 10 })
 * const validationStep = (m: Model<nn.DenseParams, nn.Empty>, { x, y }: Batch, ctx: StepContext): Logs => {
 *   const logits = net.apply(m, x, ctx).y
 *   return { 'val/loss': nn.softmaxCrossEntropy(logits, y), 'val/acc': metrics.accuracy(logits, y) }
 * }
 */
export type Logs = Readonly<Record<string, LogValue>>

/**
 * Logs a value with options.
 *
 * @example
 * const logs: Logs = { 'train/acc': log(metrics.accuracy(logits, labels), { onEpoch: true, progBar: true }) }
 */
export const log = (value: LogScalar | Stat | MetricState, options: Omit<LogEntry, 'value'> = {}): LogEntry => ({ value, ...options })

export type { Accumulated } from '../core/accumulated.js'
import type { Accumulated } from '../core/accumulated.js'

/**
 * Two accumulations of one logged value merged: means and sums through the metrics' `statMonoid`
 * (sums and weights add), minima and maxima as semigroups. Associative, so
 * an epoch's value does not depend on how its batches (or DDP's ranks) are grouped.
 */
export const combine = (a: Accumulated, b: Accumulated): Accumulated => {
  const weight = a.weight + b.weight
  if (a.metric !== undefined && b.metric !== undefined)
    return { reduce: a.reduce, value: 0, weight, metric: { spec: a.metric.spec, stats: mergeStats(a.metric.spec, a.metric.stats, b.metric.stats) } }
  switch (a.reduce) {
    case 'mean':
    case 'sum': {
      const merged = statMonoid.concat({ sum: a.value, weight: a.weight }, { sum: b.value, weight: b.weight })
      return { reduce: a.reduce, value: merged.sum, weight: merged.weight }
    }
    case 'min':
      return { reduce: 'min', value: minNumber.concat(a.value, b.value), weight }
    case 'max':
      return { reduce: 'max', value: maxNumber.concat(a.value, b.value), weight }
  }
}

/** An accumulated metric state as the metrics' host state. */
const hostState = (a: Accumulated): HostMetricState | undefined =>
  a.metric === undefined ? undefined : { metric: a.metric.spec, stats: a.metric.stats, weight: a.weight }

export const resultOf = (a: Accumulated): number =>
  a.metric !== undefined ? metricValue(hostState(a) as HostMetricState) : a.reduce === 'mean' ? (a.weight === 0 ? Number.NaN : a.value / a.weight) : a.value

/** One logged name of one step, normalised, with its value still possibly on the device. */
export interface PendingLog {
  readonly name: string
  readonly source: tf.Tensor | number | readonly number[]
  /** What a metric state's statistics (its `source`) stand for; absent for scalars and stats. */
  readonly metric?: MetricSpec
  /** The value counts `weight` times in a mean; a stat's source is already a sum. */
  readonly weight: number
  readonly isSum: boolean
  readonly reduce: Reduction
  readonly onStep: boolean
  readonly onEpoch: boolean
  readonly progBar: boolean
}

const isEntry = (u: LogValue): u is LogEntry => typeof u === 'object' && !(u instanceof tf.Tensor) && 'value' in u

/** Normalises a step's logs with the stage's defaults. */
export const pendingLogs = (
  logs: Logs | undefined,
  defaults: { readonly onStep: boolean; readonly onEpoch: boolean },
  batchSize: number,
): PendingLog[] =>
  Object.entries(logs ?? {}).map(([name, raw]) => {
    const entry: LogEntry = isEntry(raw) ? raw : { value: raw }
    if (isMetricState(entry.value)) {
      const m = entry.value
      return {
        name,
        source: m.stats,
        metric: m.metric,
        weight: m.weight,
        isSum: false,
        reduce: 'mean' as const,
        onStep: entry.onStep ?? defaults.onStep,
        onEpoch: entry.onEpoch ?? defaults.onEpoch,
        progBar: entry.progBar ?? false,
      }
    }
    const stat = isStat(entry.value) ? entry.value : undefined
    const source = stat !== undefined ? stat.sum : (entry.value as LogScalar)
    return {
      name,
      source,
      weight: stat?.weight ?? entry.weight ?? batchSize,
      isSum: stat !== undefined,
      reduce: entry.reduce ?? 'mean',
      onStep: entry.onStep ?? defaults.onStep,
      onEpoch: entry.onEpoch ?? defaults.onEpoch,
      progBar: entry.progBar ?? false,
    }
  })

/** A step's logs read back to the host. */
export interface ReadLog {
  readonly pending: PendingLog
  /** The step's own value (a stat's mean). */
  readonly value: number
  readonly accumulated: Accumulated
}

export const readLog = (pending: PendingLog, read: number | readonly number[]): ReadLog => {
  if (pending.metric !== undefined) {
    const stats = typeof read === 'number' ? [read] : [...read]
    const accumulated: Accumulated = { reduce: 'mean', value: 0, weight: pending.weight, metric: { spec: pending.metric, stats } }
    return { pending, value: resultOf(accumulated), accumulated }
  }
  const raw = typeof read === 'number' ? read : (read[0] ?? Number.NaN)
  const value = pending.isSum ? raw / pending.weight : raw
  // A mean accumulates weighted sums; a sum adds a stat's raw sums (e.g. total correct); min and
  // max compare the steps' own values.
  const accumulatedValue =
    pending.reduce === 'mean' ? (pending.isSum ? raw : raw * pending.weight) : pending.reduce === 'sum' && pending.isSum ? raw : value
  return { pending, value, accumulated: { reduce: pending.reduce, value: accumulatedValue, weight: pending.weight } }
}

/** The name a value is published under at step or epoch level (Lightning's `_step` / `_epoch`). */
export const publishedName = (p: PendingLog, level: 'step' | 'epoch'): string =>
  p.onStep && p.onEpoch ? `${p.name}_${level}` : p.name

/** Step-level values of read logs, by published name. */
export const stepValues = (logs: readonly ReadLog[]): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const l of logs) {
    if (!l.pending.onStep) continue
    const state = hostState(l.accumulated)
    if (state !== undefined) Object.assign(out, publishedValues(publishedName(l.pending, 'step'), state))
    else out[publishedName(l.pending, 'step')] = l.value
  }
  return out
}

/** Names to show on a progress bar. */
export const progressBarNames = (logs: readonly ReadLog[], level: 'step' | 'epoch'): string[] =>
  logs.filter((l) => l.pending.progBar && (level === 'step' ? l.pending.onStep : l.pending.onEpoch)).map((l) => publishedName(l.pending, level))

/**
 * The epoch-level accumulation of logged values: a map from published name to the combined
 * value. Pure: `add` returns a new accumulator.
 */
export type EpochLogs = ReadonlyMap<string, Accumulated>

export const addToEpoch = (epoch: Iterable<readonly [string, Accumulated]>, logs: readonly ReadLog[]): EpochLogs => {
  const next = new Map(epoch)
  for (const l of logs) {
    if (!l.pending.onEpoch) continue
    const name = publishedName(l.pending, 'epoch')
    const old = next.get(name)
    next.set(name, old === undefined ? l.accumulated : combine(old, l.accumulated))
  }
  return next
}

export const epochValues = (epoch: Iterable<readonly [string, Accumulated]>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const [name, acc] of epoch) {
    const state = hostState(acc)
    if (state !== undefined) Object.assign(out, publishedValues(name, state))
    else out[name] = resultOf(acc)
  }
  return out
}

/**
 * Lightning's `callback_metrics` show a value logged both per step and per epoch under its plain
 * name too, with its epoch value: `train/loss_epoch` (with a `train/loss_step`) is also
 * `train/loss`, so monitors can name it plainly.
 */
export const plainEpochNames = (epochMetrics: Readonly<Record<string, number>>, stepMetrics: Readonly<Record<string, number>>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const [name, value] of Object.entries(epochMetrics)) {
    if (!name.endsWith('_epoch')) continue
    const plain = name.slice(0, -'_epoch'.length)
    if (`${plain}_step` in stepMetrics) out[plain] = value
  }
  return out
}

/**
 * The step an epoch's training values are logged under: the step of the epoch's last training
 * row (optimizer steps so far, less one), so they never share a step with the next epoch's first
 * row. Five batches an epoch: steps 4, 9, 14 ...
 */
export const epochLogStep = (globalStep: number): number => Math.max(0, globalStep - 1)
