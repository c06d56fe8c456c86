import type * as tf from '@tensorflow/tfjs-core'
import type { Key } from '../random/key.js'
import type { Params } from '../tree/tree.js'

/**
 * A feature shape without the batch dimension, e.g. `[28, 28, 1]` or `[784]`.
 *
 * @example
 * const inputShape: nn.Shape = [28, 28, 1]   // one image, no batch dimension
 * nn.conv2d({ filters: 32, kernelSize: 3 }).init(key(0), inputShape).outputShape // [26, 26, 32]
 */
export type Shape = readonly number[]

export type { Model } from '../core/model.js'
import type { Model } from '../core/model.js'

/**
 * What a layer needs to know about the call: train or eval mode, and a key for randomness.
 *
 * @example
 * const net = nn.sequential(nn.dense({ units: 64, activation: 'relu' }), nn.dropout(0.5), nn.dense({ units: 10 }))
 * const variables = net.init(key(0), [784])
 * const evalCtx: nn.LayerContext = { training: false, key: key(1) }   // dropout off
 * const { y } = net.apply(variables, x, evalCtx)
 */
export interface LayerContext {
  readonly training: boolean
  /** Randomness for this call (dropout). Layers derive their own keys from it with `foldIn`. */
  readonly key: Key
  /**
   * The precision policy's cast for the inputs of matmuls and convolutions (a `precision` such
   * as `'16-mixed'` rounds them to half precision). Absent means float32: the identity.
   */
  readonly castCompute?: (x: tf.Tensor) => tf.Tensor
  /**
   * Overrides every `batchNorm`'s momentum for this call: `1 / t` on the t-th batch makes the
   * running statistics the plain mean over the batches (PyTorch's `momentum=None`), which is how
   * `swaModel` recomputes them for averaged weights.
   */
  readonly batchNormMomentum?: number
}

/**
 * `x` as the context's precision policy computes with it (see `LayerContext.castCompute`).
 * Layers call it on both operands of their matmuls and convolutions; a step that multiplies
 * tensors itself can do the same.
 *
 * @example
 * // in a step of your own, with the step's ctx:
 * const w = tf.randomNormal([784, 10])
 * const y = tf.matMul(nn.computeInput(ctx, x), nn.computeInput(ctx, w))   // rounded to float16 under '16-mixed'
 */
export const computeInput = (ctx: LayerContext, x: tf.Tensor): tf.Tensor => (ctx.castCompute === undefined ? x : ctx.castCompute(x))

/**
 * What `init` returns: the variables and the output shape (so the next layer can size itself).
 *
 * @example
 * const init: nn.LayerInit<nn.DenseParams, nn.Empty> = nn.dense({ units: 10 }).init(key(0), [784])
 * init.outputShape // [10]; init.params.kernel has shape [784, 10]
 */
export interface LayerInit<P extends Params, S extends Params> extends Model<P, S> {
  readonly outputShape: Shape
}

/**
 * What `apply` returns: the output and the layer's next state (the same tree when stateless).
 *
 * @example
 * const bn = nn.batchNorm()
 * const out: nn.LayerOutput<nn.BatchNormState> = bn.apply(bn.init(key(0), [64]), x, { training: true, key: key(1) })
 * out.state.runningMean // the next running mean, [64]
 */
export interface LayerOutput<S extends Params> {
  readonly y: tf.Tensor
  readonly state: S
}

/**
 * A layer's resolved options as plain read-only data (e.g. dense's `{ units, useBias, activation }`),
 * for tools that describe a layer without running it, such as the TensorFlow.js export
 * (`src/export`). An activation given as a function appears as `'custom'`.
 *
 * @example
 * const config: nn.LayerConfig | undefined = nn.dense({ units: 10, activation: 'relu' }).config
 * // { units: 10, useBias: true, activation: 'relu' }
 */
export type LayerConfig = Readonly<Record<string, unknown>>

/**
 * A functional layer: `init` builds variables for an input shape from a key; `apply` is a pure
 * function of the variables, the input and the context. It allocates new tensors and never
 * disposes its inputs; call it inside `tf.tidy` (the loop does) to release intermediates.
 *
 * @example
 * const layer = nn.dense({ units: 10 })
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

/**
 * The empty tree: the params or state of a layer that has none.
 *
 * @example
 * const addBias: nn.Layer<{ readonly b: tf.Tensor }, nn.Empty> = {
 *   kind: 'addBias',
 *   init: (_key, shape) => ({ params: { b: tf.zeros([...shape]) }, state: nn.empty, outputShape: shape }),
 *   apply: ({ params, state }, input) => ({ y: tf.add(input, params.b), state }),
 * }
 */
export type Empty = Record<string, never>
/**
 * The empty tree as a value (`{ params: empty, state: empty }` for a layer without variables).
 *
 * @example
 * const { y } = nn.flatten().apply({ params: nn.empty, state: nn.empty }, x, ctx)   // [batch, features]
 */
export const empty: Empty = {}
