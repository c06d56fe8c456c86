import * as tf from '@tensorflow/tfjs-core'
import { leafTensors, type Params } from '../tree/tree.js'

/**
 * How a backend tells whether every element of every leaf of a tree is finite: the check behind
 * the loss scaler's skipped steps and `applyIfFinite`. The answer is always computable on the
 * device; reading it back synchronously needs a backend with `hostReads`.
 */
export interface FiniteCheck {
  /** A boolean scalar tensor, true when every element is finite. Nothing is read back; the caller owns it. */
  onDevice(tree: Params): tf.Tensor
  /**
   * The same answer on the host: one boolean, one synchronous transfer. Absent where the backend
   * cannot read synchronously (webgpu in Node): select with `onDevice`'s flag, or read it asynchronously.
   */
  readonly onHost?: (tree: Params) => boolean
}

/** Whether every element of every leaf is finite, as a boolean scalar on the device (intermediates released). */
export const finiteFlag = (tree: Params): tf.Tensor =>
  tf.tidy(() => leafTensors(tree).reduce((acc: tf.Tensor, leaf) => tf.logicalAnd(acc, tf.all(tf.isFinite(leaf))), tf.scalar(true, 'bool')))

/**
 * Whether every element of every leaf is finite, read back synchronously (one boolean; this
 * synchronises with the device). Needs a backend that reads synchronously.
 */
export const hostFinite = (tree: Params): boolean => {
  const flag = finiteFlag(tree)
  try {
    return flag.dataSync()[0] === 1
  } finally {
    flag.dispose()
  }
}

/** The finiteness check of a tfjs backend that does (or does not) read synchronously. */
export const finiteCheck = (hostReads: boolean): FiniteCheck => (hostReads ? { onDevice: finiteFlag, onHost: hostFinite } : { onDevice: finiteFlag })
