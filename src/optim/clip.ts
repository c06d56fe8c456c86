import * as tf from '@tensorflow/tfjs-core'
import { leafTensors, mapParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { EmptyState } from './identity.js'
import type { GradientTransform } from './transform.js'
import { requirePositive } from './validate.js'

/**
 * The Euclidean norm of all leaves taken together, `sqrt(Σ_leaves Σ x²)`, as a scalar tensor
 * (no host read). Useful on its own for logging the gradient norm.
 *
 * @example
 * const norm = tf.tidy(() => optim.globalNorm(grads)) // tf.Scalar; read it when the step is done
 * console.log('gradient norm', (await norm.data())[0])
 */
export const globalNorm = (tree: Params): tf.Scalar => {
  const squares = leafTensors(tree).map((leaf) => tf.sum(tf.square(leaf)))
  return tf.sqrt(squares.reduce((acc, s) => tf.add(acc, s), tf.scalar(0))) as tf.Scalar
}

/**
 * Rescales the whole update tree so that its global norm is at most `maxNorm`: every leaf is
 * multiplied by `min(1, maxNorm / ‖g‖)`, which keeps the direction of the update (Optax
 * `clip_by_global_norm`, PyTorch `clip_grad_norm_` without its 1e-6 in the denominator). The
 * factor is computed on the device: no host read, and a zero norm leaves the updates unchanged.
 * A non-finite norm yields non-finite updates, which `applyIfFinite` can then skip.
 *
 * @example
 * const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.scaleByAdam(), optim.scaleByLearningRate(1e-3))
 */
export const clipByGlobalNorm = (maxNorm: number): GradientTransform<EmptyState> => {
  requirePositive('clipByGlobalNorm', 'maxNorm', maxNorm)
  return {
    init: () => null,
    update: (updates, state) => {
      const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), globalNorm(updates)))
      return [mapParams(updates, (t) => tf.mul(t, factor)), state]
    },
  }
}

/**
 * Clamps every element of every update to `[-maxAbs, maxAbs]` (PyTorch `clip_grad_value_`,
 * Optax `clip`). Unlike `clipByGlobalNorm` this can change the update's direction.
 *
 * @example
 * const optimizer = optim.chain(optim.clipByValue(0.5), optim.trace({ decay: 0.9 }), optim.scaleByLearningRate(0.01))
 */
export const clipByValue = (maxAbs: number): GradientTransform<EmptyState> => {
  requirePositive('clipByValue', 'maxAbs', maxAbs)
  return {
    init: () => null,
    update: (updates, state) => [mapParams(updates, (t) => tf.clipByValue(t, -maxAbs, maxAbs)), state],
  }
}
