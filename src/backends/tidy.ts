import * as tf from '@tensorflow/tfjs-core'

/**
 * `tf.tidy` for any result type: runs `f` in an allocation scope and releases the tensors it
 * created but does not return (found anywhere in the result: records, arrays, nested). tfjs
 * types its result as a `TensorContainer`, which rxtrain's state records (with numbers, null and
 * nested states) do not satisfy. Do not pass an async function: tfjs would release too early.
 *
 * @example
 * const step = trainStep(module, optim.adam({ lr: 1e-3 }))
 * const next = tidy(() => step(state, batch, ctx))   // the step's intermediates are released; next's tensors are kept
 */
export const tidy = <T>(f: () => T): T => tf.tidy(f as () => tf.TensorContainer) as T
