import * as tf from '@tensorflow/tfjs-core'
import type { Average, MetricSpec } from '../core/metricSpec.js'
import { checkClassIds } from '../nn/classIds.js'
import { classIds } from './classification.js'
import type { MetricState } from './metricState.js'

/**
 * Options of the class-count metrics (`precision`, `recall`, `f1`, `confusion`).
 *
 * @example
 * const options: metrics.ClassMetricOptions = { average: 'binary', positive: 0 } // class 0 is the positive one
 * const logs: Logs = { 'val/precision0': metrics.precision(logits, labels, options) }
 */
export interface ClassMetricOptions {
  /** How classes are averaged: `binary` (the default for two classes), `macro` (the default otherwise), `micro`, `weighted`. */
  readonly average?: Average
  /** The positive class of `binary` (default 1). */
  readonly positive?: number
  /** For scores of one column (binary probabilities): predicted positive at or above it (default 0.5). */
  readonly threshold?: number
}

/**
 * Predicted and actual class ids, flattened, and the class count: logits [batch, classes] (or
 * [batch, time, classes]) predict their argmax; scores [batch] or [batch, 1] (probabilities of
 * the positive class) predict 1 at or above `threshold`.
 */
const outcomes = (where: string, scores: tf.Tensor, labels: tf.Tensor, threshold: number): { classes: number; predicted: tf.Tensor; actual: tf.Tensor } => {
  const last = scores.shape[scores.rank - 1] ?? 1
  if (scores.rank === 1 || last === 1) {
    const actual = tf.reshape(tf.cast(labels, 'int32'), [-1])
    checkClassIds(where, actual, 2)
    return { classes: 2, predicted: tf.cast(tf.greaterEqual(tf.reshape(scores, [-1]), threshold), 'int32'), actual }
  }
  return {
    classes: last,
    predicted: tf.reshape(tf.cast(tf.argMax(scores, -1), 'int32'), [-1]),
    actual: tf.reshape(tf.cast(classIds(where, labels, scores), 'int32'), [-1]),
  }
}

/** Confusion counts [actual][predicted], flattened, as a float32 vector. */
const counts = (o: { classes: number; predicted: tf.Tensor; actual: tf.Tensor }): tf.Tensor =>
  tf.reshape(tf.matMul(tf.oneHot(o.actual, o.classes, 1, 0, 'float32'), tf.oneHot(o.predicted, o.classes, 1, 0, 'float32'), true, false), [-1])

const classState = (kind: 'confusion' | 'precision' | 'recall' | 'f1', scores: tf.Tensor, labels: tf.Tensor, options: ClassMetricOptions): MetricState => {
  let classes = 2
  const stats = tf.tidy(() => {
    const o = outcomes(`metrics.${kind}`, scores, labels, options.threshold ?? 0.5)
    classes = o.classes
    return counts(o)
  })
  const weight = scores.rank === 1 ? scores.size : scores.size / (scores.shape[scores.rank - 1] ?? 1)
  const metric: MetricSpec =
    kind === 'confusion'
      ? { kind, classes }
      : { kind, classes, average: options.average ?? (classes === 2 ? 'binary' : 'macro'), positive: options.positive ?? 1 }
  return { metric, stats, weight }
}

/**
 * The confusion matrix of a batch, as a metric state: counts by actual and predicted class,
 * summed exactly over an epoch and DDP's ranks. Logged under `<stage>/confusion`, it publishes one
 * count per cell, `<stage>/confusion/<actual>/<predicted>`, which the report draws as a matrix
 * (log it per epoch: `log(m, { onStep: false, onEpoch: true })` in training).
 *
 * @example
 * const logs: Logs = { 'val/confusion': metrics.confusion(logits, labels) } // val/confusion/0/0, val/confusion/0/1, ...
 */
export const confusion = (logits: tf.Tensor, labels: tf.Tensor, options: Pick<ClassMetricOptions, 'threshold'> = {}): MetricState =>
  classState('confusion', logits, labels, options)

/**
 * Precision, tp / (tp + fp), exact over an epoch (scikit-learn's `precision_score` with
 * `labels=range(classes)`, `zero_division=0`). Takes logits [batch, classes] or binary scores
 * [batch] (probabilities, thresholded), and labels as class ids or one-hot rows.
 *
 * @example
 * const logs: Logs = { 'val/precision': metrics.precision(logits, labels, { average: 'macro' }) }
 */
export const precision = (logits: tf.Tensor, labels: tf.Tensor, options: ClassMetricOptions = {}): MetricState =>
  classState('precision', logits, labels, options)

/**
 * Recall, tp / (tp + fn), exact over an epoch (scikit-learn's `recall_score`); `micro` recall is
 * accuracy.
 *
 * @example
 * const logs: Logs = { 'val/recall': metrics.recall(logits, labels, { average: 'weighted' }) }
 */
export const recall = (logits: tf.Tensor, labels: tf.Tensor, options: ClassMetricOptions = {}): MetricState =>
  classState('recall', logits, labels, options)

/**
 * F1, 2tp / (2tp + fp + fn), exact over an epoch (scikit-learn's `f1_score`): computed from the
 * epoch's counts, never averaged over batches.
 *
 * @example
 * const probabilities = tf.sigmoid(tf.squeeze(tf.slice(logits, [0, 0], [-1, 1]), [1])) // one output unit
 * const logs: Logs = { 'val/f1': metrics.f1(probabilities, labels, { threshold: 0.5 }) } // binary F1
 */
export const f1 = (logits: tf.Tensor, labels: tf.Tensor, options: ClassMetricOptions = {}): MetricState =>
  classState('f1', logits, labels, options)
