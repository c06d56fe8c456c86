import * as tf from '@tensorflow/tfjs-core'
import { checkClassIds } from '../nn/classIds.js'
import type { Stat } from './stat.js'

/**
 * Whether labels are one-hot / probability rows [batch, classes] (else class ids: [batch], or
 * [batch, 1] as tf.data often yields them, which must not be read as one-hot rows of one class).
 */
export const isRows = (labels: tf.Tensor, logits: tf.Tensor): boolean =>
  labels.rank === logits.rank && labels.shape[labels.rank - 1] === logits.shape[logits.rank - 1]

/**
 * Class ids [batch] from int labels ([batch] or [batch, 1]) or one-hot / probability rows. Ids
 * outside [0, classes) are a `DataError` (see `checkClassIds`): they would count as wrong forever
 * (accuracy) or add nothing (cross-entropy), silently.
 */
export const classIds = (metric: string, labels: tf.Tensor, logits: tf.Tensor): tf.Tensor => {
  if (isRows(labels, logits)) return tf.argMax(labels, -1)
  checkClassIds(metric, labels, logits.shape[logits.rank - 1] ?? 1)
  return tf.cast(labels.rank === logits.rank ? tf.squeeze(labels, [labels.rank - 1]) : labels, 'int32')
}

/** Predictions in a batch of logits: examples, times any extra positions ([batch, time, classes]). */
export const predictionCount = (logits: tf.Tensor): number => logits.size / (logits.shape[logits.rank - 1] ?? 1)

/**
 * Top-k accuracy of `logits` [batch, classes] against labels (class ids [batch] or one-hot
 * [batch, classes]), as a stat: correct predictions over predictions (over every position when
 * the logits are [batch, time, classes]).
 *
 * @example
 * const logs: Logs = {
 *   'val/acc': metrics.accuracy(logits, batch.y),              // exact epoch accuracy
 *   'val/top5': metrics.accuracy(logits, batch.y, { k: 5 }),
 * }
 */
export const accuracy = (logits: tf.Tensor, labels: tf.Tensor, options: { readonly k?: number } = {}): Stat => {
  const k = options.k ?? 1
  const ids = classIds('metrics.accuracy', labels, logits)
  const correct =
    k === 1
      ? tf.sum(tf.cast(tf.equal(tf.cast(tf.argMax(logits, -1), 'int32'), tf.cast(ids, 'int32')), 'float32'))
      : tf.sum(
          tf.cast(
            tf.any(tf.equal(tf.topk(logits, k).indices, tf.expandDims(tf.cast(ids, 'int32'), -1)), -1),
            'float32',
          ),
        )
  return { sum: correct as tf.Scalar, weight: predictionCount(logits) }
}

/**
 * Mean softmax cross-entropy of `logits` against labels (class ids or one-hot), as a stat over
 * examples; the metric counterpart of the `softmaxCrossEntropy` loss.
 *
 * @example
 * const logs: Logs = { 'val/loss': metrics.crossEntropy(logits, batch.y) } // exact epoch mean
 */
export const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor): Stat => {
  const logp = tf.logSoftmax(logits, -1)
  const classes = logits.shape[logits.rank - 1] ?? 1
  const target = isRows(labels, logits) ? tf.cast(labels, 'float32') : tf.oneHot(classIds('metrics.crossEntropy', labels, logits), classes)
  return { sum: tf.neg(tf.sum(tf.mul(target, logp))) as tf.Scalar, weight: predictionCount(logits) }
}
