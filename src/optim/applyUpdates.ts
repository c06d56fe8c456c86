import * as tf from '@tensorflow/tfjs-core'
import { zipParams } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'

/**
 * The parameter step: `params + updates`, leaf by leaf, as new tensors (neither tree is disposed).
 * Updates from a descent optimizer are already negated and scaled by the learning rate. Throws a
 * `StructureError` when the two trees differ.
 *
 * @example
 * const optimizer = optim.adam({ lr: 1e-3 })
 * const optState = optimizer.init(params)
 * const [nextParams, nextState] = tidy(() => {
 *   const [updates, next] = optimizer.update(grads, optState, params)
 *   return [optim.applyUpdates(params, updates), next] as const
 * })
 */
export const applyUpdates = <P extends Params>(params: P, updates: Params): P =>
  zipParams(params, updates, (p, u) => tf.add(p, u))
