import * as tf from '@tensorflow/tfjs-core'
import type { Stat } from './stat.js'

/** Class ids [batch] from int labels or one-hot / probability rows [batch, classes]. */
const classIds = (labels: tf.Tensor, logitsRank: number): tf.Tensor =>
  labels.rank === logitsRank ? tf.argMax(labels, -1) : tf.cast(labels, 'int32')

/**
 * Top-k accuracy of `logits` [batch, classes] against labels (class ids [batch] or one-hot
 * [batch, classes]), as a stat: correct predictions over examples.
 *
 * @example
 * logs: { 'val/acc': accuracy(logits, batch.y) }            // exact epoch accuracy
 * logs: { 'val/top5': accuracy(logits, batch.y, { k: 5 }) }
 */
export const accuracy = (logits: tf.Tensor, labels: tf.Tensor, options: { readonly k?: number } = {}): Stat => {
  const k = options.k ?? 1
  const batch = logits.shape[0] ?? 1
  const ids = classIds(labels, logits.rank)
  const correct =
    k === 1
      ? tf.sum(tf.cast(tf.equal(tf.cast(tf.argMax(logits, -1), 'int32'), tf.cast(ids, 'int32')), 'float32'))
      : tf.sum(
          tf.cast(
            tf.any(tf.equal(tf.topk(logits, k).indices, tf.expandDims(tf.cast(ids, 'int32'), -1)), -1),
            'float32',
          ),
        )
  return { sum: correct as tf.Scalar, weight: batch }
}

/**
 * Mean softmax cross-entropy of `logits` against labels (class ids or one-hot), as a stat over
 * examples; the metric counterpart of the `softmaxCrossEntropy` loss.
 */
export const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor): Stat => {
  const logp = tf.logSoftmax(logits, -1)
  const classes = logits.shape[logits.rank - 1] ?? 1
  const target = labels.rank === logits.rank ? tf.cast(labels, 'float32') : tf.oneHot(tf.cast(labels, 'int32'), classes)
  return { sum: tf.neg(tf.sum(tf.mul(target, logp))) as tf.Scalar, weight: logits.shape[0] ?? 1 }
}
