import * as tf from '@tensorflow/tfjs-core'
import { mapParams, zipParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireDecayRate } from './validate.js'

/**
 * Momentum's hyperparameters.
 *
 * @example
 * const momentum: optim.TraceOptions = { decay: 0.9, nesterov: true }
 * const optimizer = optim.chain(optim.trace(momentum), optim.scaleByLearningRate(0.1))
 */
export interface TraceOptions {
  /** Weight of the previous trace (PyTorch's `momentum`), in [0, 1). */
  readonly decay: number
  /** Nesterov momentum: look ahead along the new trace. Default false. */
  readonly nesterov?: boolean
}

/**
 * Momentum's memory: the trace, shaped like the parameters.
 *
 * @example
 * const momentum = optim.trace({ decay: 0.9 })
 * const traceState: optim.TraceState = momentum.init(params)        // { trace: zeros }
 * const [updates, next] = tidy(() => momentum.update(grads, traceState, params)) // next.trace: the gradients
 */
export type TraceState = { readonly trace: Params }

/**
 * Momentum (heavy ball), in the PyTorch/Optax convention without dampening:
 *
 *     t = decay t + g        update = t               (nesterov: update = g + decay t)
 *
 * The trace starts at zero, so the first update is `g` (PyTorch's first-step buffer). Without
 * Nesterov the update *is* the new trace (the same tensors, aliased in the state). Reports
 * `hyperparams → { momentum }`.
 *
 * @example
 * const momentumSgd = optim.chain(optim.trace({ decay: 0.9, nesterov: true }), optim.scaleByLearningRate(0.1))
 */
export const trace = (options: TraceOptions): GradientTransform<TraceState> => {
  const { decay, nesterov = false } = options
  requireDecayRate('trace', 'decay', decay)
  return {
    init: (params) => ({ trace: mapParams(params, (p) => tf.zerosLike(p)) }),
    update: (updates, state) => {
      const d = tf.scalar(decay)
      const next = zipParams(updates, state.trace, (g, t) => tf.add(g, tf.mul(t, d)))
      const out = nesterov ? zipParams(updates, next, (g, t) => tf.add(g, tf.mul(t, d))) : next
      return [out, { trace: next }]
    },
    hyperparams: () => ({ momentum: decay }),
  }
}
