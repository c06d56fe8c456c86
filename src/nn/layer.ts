import type * as tf from '@tensorflow/tfjs-core'
import type { Key } from '../random/key.js'
import type { Params } from '../tree/tree.js'

/** A feature shape without the batch dimension, e.g. `[28, 28, 1]` or `[784]`. */
export type Shape = readonly number[]

export type { Model } from '../core/model.js'
import type { Model } from '../core/model.js'

/** What a layer needs to know about the call: train or eval mode, and a key for randomness. */
export interface LayerContext {
  readonly training: boolean
  /** Randomness for this call (dropout). Layers derive their own keys from it with `foldIn`. */
  readonly key: Key
  /**
   * The precision policy's cast for the inputs of matmuls and convolutions (a `precision` such
   * as `'16-mixed'` rounds them to half precision). Absent means float32: the identity.
   */
  readonly castCompute?: (x: tf.Tensor) => tf.Tensor
}

/**
 * `x` as the context's precision policy computes with it (see `LayerContext.castCompute`).
 * Layers call it on both operands of their matmuls and convolutions; a step that multiplies
 * tensors itself can do the same.
 */
export const computeInput = (ctx: LayerContext, x: tf.Tensor): tf.Tensor => (ctx.castCompute === undefined ? x : ctx.castCompute(x))

/** What `init` returns: the variables and the output shape (so the next layer can size itself). */
export interface LayerInit<P extends Params, S extends Params> extends Model<P, S> {
  readonly outputShape: Shape
}

/** What `apply` returns: the output and the layer's next state (the same tree when stateless). */
export interface LayerOutput<S extends Params> {
  readonly y: tf.Tensor
  readonly state: S
}

/**
 * A layer's resolved options as plain read-only data (e.g. dense's `{ units, useBias, activation }`),
 * for tools that describe a layer without running it, such as the TensorFlow.js export
 * (`src/export`). An activation given as a function appears as `'custom'`.
 */
export type LayerConfig = Readonly<Record<string, unknown>>

/**
 * A functional layer: `init` builds variables for an input shape from a key; `apply` is a pure
 * function of the variables, the input and the context. It allocates new tensors and never
 * disposes its inputs; call it inside `tf.tidy` (the loop does) to release intermediates.
 *
 * @example
 * const layer = dense({ units: 10 })
 * const { params, state, outputShape } = layer.init(key(0), [784])   // outputShape = [10]
 * const { y } = layer.apply({ params, state }, x, { training: false, key: key(1) })
 */
export interface Layer<P extends Params = Params, S extends Params = Params> {
  /** What the layer is, e.g. `dense`; `sequential` uses it to name parameter paths. */
  readonly kind: string
  /** The layer's resolved options (absent for layers built outside rxtrain's `nn`). Read-only; never consulted by `apply`. */
  readonly config?: LayerConfig
  init(key: Key, inputShape: Shape): LayerInit<P, S>
  apply(model: Model<P, S>, x: tf.Tensor, ctx: LayerContext): LayerOutput<S>
}

/** The empty tree: the params or state of a layer that has none. */
export type Empty = Record<string, never>
/** The empty tree as a value (`{ params: empty, state: empty }` for a layer without variables). */
export const empty: Empty = {}
