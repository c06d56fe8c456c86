import * as tf from '@tensorflow/tfjs-core'
import './gradients.js'

/**
 * `f`'s value and its gradients with respect to `xs` (undefined for those `f` does not use), as
 * `tf.engine().gradients` computes them, except that a throw leaves nothing behind.
 *
 * tfjs records each kernel of the forward pass on a tape with a kept clone of every tensor its
 * gradient needs, and releases those clones only at the end of a backward pass that succeeds. When
 * `f` or the backward pass throws, the tape is abandoned with its clones still kept, out of every
 * tidy's reach; the next tape then replaces it without releasing them (9 tensors a failed step of
 * a small MLP, for the rest of the process). This releases them and drops the tape. A nested call
 * (a higher-order gradient: an outer tape still records) leaves the outer tape alone.
 */
export const valueAndGrads = (f: () => tf.Scalar, xs: tf.Tensor[]): { readonly value: tf.Scalar; readonly grads: readonly (tf.Tensor | undefined)[] } => {
  const engine = tf.engine()
  try {
    return engine.gradients(f, xs, undefined, true)
  } catch (e) {
    if (engine.state.gradientDepth === 0) dropTape(engine)
    throw e
  }
}

/** Releases the clones an abandoned tape kept for its backward pass, and the tape with them. */
const dropTape = (engine: ReturnType<typeof tf.engine>): void => {
  const tape = engine.state.activeTape as (typeof engine.state.activeTape | null)
  if (tape === null) return
  for (const node of tape) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose()
  ;(engine.state as { activeTape: unknown }).activeTape = null
}
