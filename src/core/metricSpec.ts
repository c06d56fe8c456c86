import * as t from 'io-ts'

/**
 * How a metric's statistics are averaged over classes (scikit-learn's and torchmetrics' names):
 * `binary` scores the positive class alone, `macro` is the plain mean over every class, `micro`
 * pools the counts of every class first, `weighted` weighs each class by its support.
 *
 * @example
 * const average: metrics.Average = 'weighted'
 * const logs: Logs = { 'val/f1': metrics.f1(logits, labels, { average }) }
 */
export type Average = 'binary' | 'macro' | 'micro' | 'weighted'

/**
 * Which value a metric's statistics stand for, as plain data: it travels with the statistics
 * through read-back, DDP's messages and checkpoints (a function could not), and says how two
 * states merge (added, or concatenated for the exact ranking metrics).
 *
 * @example
 * const spec: metrics.MetricSpec = { kind: 'precision', classes: 3, average: 'macro', positive: 1 }
 * metrics.metricValue({ metric: spec, stats: [2, 0, 0, 1, 1, 0, 0, 0, 3], weight: 7 }) // (2/3 + 1 + 1) / 3
 */
export type MetricSpec =
  | { readonly kind: 'confusion'; readonly classes: number }
  | { readonly kind: 'precision' | 'recall' | 'f1'; readonly classes: number; readonly average: Average; readonly positive: number }
  | { readonly kind: 'auroc' | 'averagePrecision'; readonly classes: number; readonly bins: number | 'exact' }
  | { readonly kind: 'r2' | 'explainedVariance'; readonly outputs: number }

/** The io-ts codec of `MetricSpec` (inside a checkpoint's loop state). */
export const MetricSpecCodec: t.Type<MetricSpec> = t.union([
  t.type({ kind: t.literal('confusion'), classes: t.number }),
  t.type({
    kind: t.keyof({ precision: null, recall: null, f1: null }),
    classes: t.number,
    average: t.keyof({ binary: null, macro: null, micro: null, weighted: null }),
    positive: t.number,
  }),
  t.type({ kind: t.keyof({ auroc: null, averagePrecision: null }), classes: t.number, bins: t.union([t.number, t.literal('exact')]) }),
  t.type({ kind: t.keyof({ r2: null, explainedVariance: null }), outputs: t.number }),
])

/** A metric's statistics on the host: what its epoch value is computed from. */
export interface MetricStats {
  readonly spec: MetricSpec
  readonly stats: readonly number[]
}

/** The io-ts codec of `MetricStats`. */
export const MetricStatsCodec = t.type({ spec: MetricSpecCodec, stats: t.array(t.number) })
