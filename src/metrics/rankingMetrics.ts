import * as tf from '@tensorflow/tfjs-core'
import { checkClassIds } from '../nn/classIds.js'
import { classIds } from './classification.js'
import type { HostMetricState, MetricState } from './metricState.js'
import { rankingValue } from './ranking.js'

/**
 * Options of AUROC and average precision.
 *
 * @example
 * const options: metrics.RankingOptions = { bins: 10_000 } // a state of 2 × 10,000 counts per class
 * const logs: Logs = { 'val/auroc': metrics.auroc(tf.softmax(logits), labels, options) }
 */
export interface RankingOptions {
  /**
   * Score bins over [0, 1] (default 1000), or `'exact'`: every example's scores are kept (memory
   * grows with the data set: for small data). Binned, examples of one bin count as tied; the
   * error this makes is bounded by `metrics.rankingErrorBound`, and is 0 when no bin holds both
   * a positive and a negative.
   */
  readonly bins?: number | 'exact'
}

const rankingState = (kind: 'auroc' | 'averagePrecision', scores: tf.Tensor, labels: tf.Tensor, options: RankingOptions): MetricState => {
  const bins = options.bins ?? 1000
  const binary = scores.rank === 1 || (scores.shape[scores.rank - 1] ?? 1) === 1
  const classes = binary ? 1 : (scores.shape[scores.rank - 1] ?? 1)
  const where = `metrics.${kind}`
  const stats = tf.tidy(() => {
    const s = tf.reshape(tf.cast(scores, 'float32'), [-1, classes])
    let ids: tf.Tensor
    if (binary) {
      ids = tf.reshape(tf.cast(labels, 'int32'), [-1])
      checkClassIds(where, ids, 2)
    } else ids = tf.reshape(tf.cast(classIds(where, labels, scores), 'int32'), [-1])
    if (bins === 'exact') return tf.reshape(tf.concat([tf.expandDims(tf.cast(ids, 'float32'), 1), s], 1), [-1])
    const positive = binary ? tf.expandDims(tf.cast(ids, 'float32'), 1) : tf.oneHot(ids, classes, 1, 0, 'float32') // [n, K]
    const bin = tf.cast(tf.clipByValue(tf.floor(tf.mul(s, bins)), 0, bins - 1), 'int32') // [n, K]
    const hot = tf.oneHot(bin, bins, 1, 0, 'float32') // [n, K, bins]
    const pos = tf.sum(tf.mul(hot, tf.expandDims(positive, 2)), 0)
    const neg = tf.sum(tf.mul(hot, tf.expandDims(tf.sub(1, positive), 2)), 0)
    return tf.reshape(tf.stack([pos, neg], 1), [-1]) // [K, 2, bins]
  })
  return { metric: { kind, classes, bins }, stats, weight: scores.size / classes }
}

/**
 * Area under the ROC curve, exact over an epoch and DDP's ranks: scikit-learn's `roc_auc_score`
 * (one-vs-rest, macro, for [batch, classes] probabilities). Takes probabilities of the positive
 * class [batch] and labels 0/1, or class probabilities [batch, classes] and class ids. Binned by
 * default (a fixed-size state); `{ bins: 'exact' }` keeps every score.
 *
 * @example
 * const probabilities = tf.softmax(logits)
 * const logs: Logs = { 'val/auroc': metrics.auroc(probabilities, labels, { bins: 1000 }) }
 */
export const auroc = (scores: tf.Tensor, labels: tf.Tensor, options: RankingOptions = {}): MetricState =>
  rankingState('auroc', scores, labels, options)

/**
 * Average precision, Σ (Rₙ - Rₙ₋₁) Pₙ (scikit-learn's `average_precision_score`, macro over
 * classes for [batch, classes] probabilities), exact over an epoch; binned like `auroc`.
 *
 * @example
 * const probabilities = tf.softmax(logits)
 * const logs: Logs = { 'val/ap': metrics.averagePrecision(probabilities, labels, { bins: 'exact' }) }
 */
export const averagePrecision = (scores: tf.Tensor, labels: tf.Tensor, options: RankingOptions = {}): MetricState =>
  rankingState('averagePrecision', scores, labels, options)

/**
 * How far a binned AUROC or average precision can be from the exact value over the same
 * examples, computed from the state alone: ½ · (pairs of a positive and a negative in one bin) /
 * (all such pairs) for AUROC; for average precision, the spread of the precision a positive of a
 * bin could see, weighted by the bin's share of positives. 0 for exact states.
 *
 * @example
 * const spec: metrics.MetricSpec = { kind: 'auroc', classes: 1, bins: 2 }
 * // bin 0 (scores below ½): 2 positives, 3 negatives; bin 1: 3 positives, 1 negative
 * const s: metrics.HostMetricState = { metric: spec, stats: [2, 3, 3, 1], weight: 9 }
 * metrics.metricValue(s) // (2·1.5 + 3·(3 + 0.5)) / 20 = 0.675
 * metrics.rankingErrorBound(s) // ½ · (2·3 + 3·1) / 20 = 0.225
 */
export const rankingErrorBound = (s: HostMetricState): number =>
  s.metric.kind === 'auroc' || s.metric.kind === 'averagePrecision' ? rankingValue(s.stats, s.metric).bound : 0
