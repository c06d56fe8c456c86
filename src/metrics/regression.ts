import * as tf from '@tensorflow/tfjs-core'
import type { Stat } from './stat.js'
import type { MetricState } from './metricState.js'

/**
 * Mean squared error over all elements, as a stat (exact over an epoch).
 *
 * @example
 * const prediction = tf.matMul(batch.x, tf.zeros([784, 1])) // a linear model's output
 * const logs: Logs = { 'val/mse': metrics.mse(prediction, batch.y) }
 */
export const mse = (pred: tf.Tensor, target: tf.Tensor): Stat => ({
  sum: tf.sum(tf.squaredDifference(pred, target)) as tf.Scalar,
  weight: pred.size,
})

/**
 * Mean absolute error over all elements, as a stat.
 *
 * @example
 * const prediction = tf.matMul(batch.x, tf.zeros([784, 1])) // a linear model's output
 * const logs: Logs = { 'val/mae': metrics.mae(prediction, batch.y) }
 */
export const mae = (pred: tf.Tensor, target: tf.Tensor): Stat => ({
  sum: tf.sum(tf.abs(tf.sub(pred, target))) as tf.Scalar,
  weight: pred.size,
})

/**
 * Mean absolute percentage error, mean of |y - ŷ| / max(|y|, ε) (scikit-learn's
 * `mean_absolute_percentage_error`, ε the float64 epsilon: a fraction, not percent), as a stat.
 *
 * @example
 * const prediction = tf.matMul(batch.x, tf.zeros([784, 1])) // a linear model's output
 * const logs: Logs = { 'val/mape': metrics.mape(prediction, batch.y) }
 */
export const mape = (pred: tf.Tensor, target: tf.Tensor): Stat => ({
  sum: tf.tidy(() => tf.sum(tf.div(tf.abs(tf.sub(target, pred)), tf.maximum(tf.abs(target), 2.220446049250313e-16)))) as tf.Scalar,
  weight: pred.size,
})

/** Per-output sums [n, Σy, Σy², Σe, Σe²] (e = y - ŷ) of predictions [batch] or [batch, outputs]. */
const varianceState = (kind: 'r2' | 'explainedVariance', pred: tf.Tensor, target: tf.Tensor): MetricState => {
  const outputs = pred.rank <= 1 ? 1 : (pred.shape[pred.rank - 1] ?? 1)
  const stats = tf.tidy(() => {
    const y = tf.reshape(tf.cast(target, 'float32'), [-1, outputs])
    const e = tf.sub(y, tf.reshape(tf.cast(pred, 'float32'), [-1, outputs]))
    const n = tf.fill([outputs], y.shape[0] ?? 0)
    return tf.reshape(tf.stack([n, tf.sum(y, 0), tf.sum(tf.square(y), 0), tf.sum(e, 0), tf.sum(tf.square(e), 0)], 1), [-1])
  })
  return { metric: { kind, outputs }, stats, weight: pred.size / outputs }
}

/**
 * R², 1 - Σ(y - ŷ)² / Σ(y - ȳ)², exact over an epoch: ȳ is the epoch's mean, not a batch's
 * (scikit-learn's `r2_score`; several outputs averaged uniformly). The sums are float32 per batch
 * and float64 across batches, so targets far from 0 relative to their spread lose digits.
 *
 * @example
 * const prediction = tf.matMul(batch.x, tf.zeros([784, 1]))
 * const logs: Logs = { 'val/r2': metrics.r2(prediction, batch.y) }
 */
export const r2 = (pred: tf.Tensor, target: tf.Tensor): MetricState => varianceState('r2', pred, target)

/**
 * Explained variance, 1 - Var(y - ŷ) / Var(y), exact over an epoch (scikit-learn's
 * `explained_variance_score`): unlike R², a constant bias in the predictions costs nothing.
 *
 * @example
 * const prediction = tf.matMul(batch.x, tf.zeros([784, 1]))
 * const logs: Logs = { 'val/explainedVariance': metrics.explainedVariance(prediction, batch.y) }
 */
export const explainedVariance = (pred: tf.Tensor, target: tf.Tensor): MetricState => varianceState('explainedVariance', pred, target)
