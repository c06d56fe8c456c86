import * as tf from '@tensorflow/tfjs-core'
import type { Stat } from './stat.js'

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
