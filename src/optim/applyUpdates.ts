import * as tf from '@tensorflow/tfjs-core'
import { zipParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'

/**
 * The parameter step: `params + updates`, leaf by leaf, as new tensors (neither tree is disposed).
 * Updates from a descent optimizer are already negated and scaled by the learning rate. Throws a
 * `StructureError` when the two trees differ.
 *
 * @example
 * const [nextParams, nextState] = tf.tidy(() => {
 *   const [updates, state] = optimizer.update(grads, optState, params)
 *   return [applyUpdates(params, updates), state]
 * })
 */
export const applyUpdates = <P extends Params>(params: P, updates: Params): P =>
  zipParams(params, updates, (p, u) => tf.add(p, u))
