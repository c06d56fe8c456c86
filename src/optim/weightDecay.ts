import * as tf from '@tensorflow/tfjs-core'
import { zipParams } from '../tree/tree.js'
import type { EmptyState } from './identity.js'
import type { GradientTransform } from './transform.js'
import { requireNonNegative } from './validate.js'

/**
 * Weight decay's hyperparameters.
 *
 * @example
 * const decay: optim.DecayedWeightsOptions = { weightDecay: 5e-4, mask: (path) => path.endsWith('kernel') }
 * const optimizer = optim.chain(optim.addDecayedWeights(decay), optim.trace({ decay: 0.9 }), optim.scaleByLearningRate(0.1))
 */
export interface DecayedWeightsOptions {
  /** Coefficient of the parameter added to its update; finite and >= 0. */
  readonly weightDecay: number
  /**
   * Which parameters decay, by path (e.g. `dense0/kernel`); default: all of them. A common
   * choice exempts biases and norm scales: `(path) => path.endsWith('kernel')`.
   */
  readonly mask?: (path: string) => boolean
}

/**
 * Adds `weightDecay * param` to each update (L2 regularisation's gradient). Placed before the
 * adaptive scaling it is coupled (PyTorch `SGD(weight_decay=...)`); placed after it, right
 * before `scaleByLearningRate`, it is decoupled (AdamW). Unmasked leaves pass through unchanged
 * (the same tensors). Reports `hyperparams → { weightDecay }`.
 *
 * @example
 * const noBiasDecay = (path: string) => !path.endsWith('bias')
 * const decoupled = optim.addDecayedWeights({ weightDecay: 0.01, mask: noBiasDecay })
 * const adamw = optim.chain(optim.scaleByAdam(), decoupled, optim.scaleByLearningRate(1e-3))
 */
export const addDecayedWeights = (options: DecayedWeightsOptions): GradientTransform<EmptyState> => {
  const { weightDecay, mask = () => true } = options
  requireNonNegative('addDecayedWeights', 'weightDecay', weightDecay)
  return {
    init: () => null,
    update: (updates, state, params) => {
      if (weightDecay === 0) return [updates, state]
      const wd = tf.scalar(weightDecay)
      return [zipParams(updates, params, (u, p, path) => (mask(path) ? tf.add(u, tf.mul(p, wd)) : u)), state]
    },
    hyperparams: () => ({ weightDecay }),
  }
}
