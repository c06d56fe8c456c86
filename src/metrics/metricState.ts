import type * as tf from '@tensorflow/tfjs-core'
import type { Monoid } from 'fp-ts/lib/Monoid.js'
import type { MetricSpec } from '../core/metricSpec.js'
import { classScores } from './classScores.js'
import { rankingValue } from './ranking.js'
import { varianceScore } from './varianceScores.js'

export type { Average, MetricSpec } from '../core/metricSpec.js'

/**
 * A metric that is not a mean (precision, F1, AUROC, R², a confusion matrix): a batch's
 * sufficient statistics (`stats`, a flat vector: confusion counts, score histograms, sums of
 * powers) and the `metric` they stand for. States merge by adding their statistics (or, for the
 * exact ranking metrics, by concatenating the examples), so the value of the merged state is the
 * metric over every example of every batch and every DDP rank, exactly: never an average of batch
 * values. Log one like any metric: `{ 'val/f1': metrics.f1(logits, y) }`.
 *
 * @example
 * const logs: Logs = { 'val/f1': metrics.f1(logits, labels, { average: 'macro' }) } // exact over the epoch
 */
export interface MetricState<S = tf.Tensor | readonly number[]> {
  readonly metric: MetricSpec
  readonly stats: S
  /** Examples it covers. */
  readonly weight: number
}

/**
 * A metric state read back to the host.
 *
 * @example
 * const spec: metrics.MetricSpec = { kind: 'f1', classes: 2, average: 'binary', positive: 1 }
 * const counts: metrics.HostMetricState = { metric: spec, stats: [5, 1, 2, 4], weight: 12 } // [actual][predicted]
 * metrics.metricValue(counts) // 2·4 / (2·4 + 1 + 2) = 0.727...
 */
export type HostMetricState = MetricState<readonly number[]>

/**
 * Runtime test used by the logger to tell a metric state from a stat or a scalar.
 *
 * @example
 * const logged: unknown = metrics.recall(logits, labels)
 * metrics.isMetricState(logged) // true
 */
export const isMetricState = (u: unknown): u is MetricState =>
  typeof u === 'object' && u !== null && 'metric' in u && 'stats' in u && 'weight' in u

/** Whether two states of `spec` merge by concatenating their examples (exact ranking metrics). */
const concatenates = (spec: MetricSpec): boolean => (spec.kind === 'auroc' || spec.kind === 'averagePrecision') && spec.bins === 'exact'

/** The length of an empty state's statistics. */
const statsLength = (spec: MetricSpec): number => {
  switch (spec.kind) {
    case 'confusion':
    case 'precision':
    case 'recall':
    case 'f1':
      return spec.classes * spec.classes
    case 'auroc':
    case 'averagePrecision':
      return spec.bins === 'exact' ? 0 : spec.classes * 2 * spec.bins
    case 'r2':
    case 'explainedVariance':
      return spec.outputs * 5
  }
}

/** Adds or concatenates two states' statistics, by the metric's kind. */
export const mergeStats = (spec: MetricSpec, a: readonly number[], b: readonly number[]): number[] =>
  concatenates(spec) ? [...a, ...b] : a.map((x, i) => x + (b[i] ?? 0))

/**
 * The monoid of one metric's states: the epoch's state is the `concat` of its batches' states in
 * any grouping (and of DDP's ranks), and `empty` covers no example.
 *
 * @example
 * const spec: metrics.MetricSpec = { kind: 'confusion', classes: 2 }
 * const m = metrics.metricMonoid(spec)
 * const rank0: metrics.HostMetricState = { metric: spec, stats: [3, 1, 0, 4], weight: 8 }
 * const rank1: metrics.HostMetricState = { metric: spec, stats: [2, 0, 1, 5], weight: 8 }
 * metrics.confusionMatrix(m.concat(rank0, rank1)) // [[5, 1], [1, 9]]
 */
export const metricMonoid = (spec: MetricSpec): Monoid<HostMetricState> => ({
  empty: { metric: spec, stats: new Array<number>(statsLength(spec)).fill(0), weight: 0 },
  concat: (a, b) => ({ metric: spec, stats: mergeStats(spec, a.stats, b.stats), weight: a.weight + b.weight }),
})

/**
 * The value a state stands for (NaN where it is undefined: no example, or AUROC without both
 * classes). A confusion matrix's value is its accuracy (its cells are logged by name).
 *
 * @example
 * const spec: metrics.MetricSpec = { kind: 'r2', outputs: 1 }
 * // n, Σy, Σy², Σ(y - ŷ), Σ(y - ŷ)² of y = [1, 2, 3], ŷ = [1, 2, 4]
 * metrics.metricValue({ metric: spec, stats: [3, 6, 14, -1, 1], weight: 3 }) // 1 - 1 / 2 = 0.5
 */
export const metricValue = (s: HostMetricState): number => {
  const spec = s.metric
  switch (spec.kind) {
    case 'confusion':
      return classScores(s.stats, { kind: 'recall', classes: spec.classes, average: 'micro', positive: 1 })
    case 'precision':
    case 'recall':
    case 'f1':
      return classScores(s.stats, spec)
    case 'auroc':
    case 'averagePrecision':
      return rankingValue(s.stats, spec).value
    case 'r2':
    case 'explainedVariance':
      return varianceScore(s.stats, spec)
  }
}

/**
 * A confusion state's counts as a matrix: `m[actual][predicted]` (scikit-learn's layout).
 *
 * @example
 * const spec: metrics.MetricSpec = { kind: 'confusion', classes: 2 }
 * metrics.confusionMatrix({ metric: spec, stats: [3, 1, 0, 4], weight: 8 }) // [[3, 1], [0, 4]]
 */
export const confusionMatrix = (s: HostMetricState): number[][] => {
  const m = s.metric
  const c = m.kind === 'confusion' || m.kind === 'precision' || m.kind === 'recall' || m.kind === 'f1' ? m.classes : 0
  return Array.from({ length: c }, (_, a) => s.stats.slice(a * c, (a + 1) * c))
}

/**
 * The published scalars of a metric state logged under `name`: its value, or for a confusion
 * matrix one count per cell, `<name>/<actual>/<predicted>` (what the report draws as a matrix).
 */
export const publishedValues = (name: string, s: HostMetricState): Record<string, number> => {
  if (s.metric.kind !== 'confusion') return { [name]: metricValue(s) }
  const out: Record<string, number> = {}
  confusionMatrix(s).forEach((row, a) => row.forEach((count, p) => (out[`${name}/${a}/${p}`] = count)))
  return out
}
