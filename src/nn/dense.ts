import * as tf from '@tensorflow/tfjs-core'
import { DENSE } from '../backends/fusedKernelNames.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { split } from '../random/key.js'
import { type Activation, type ActivationFn, activationConfigName, activationFn } from './activations.js'
import { type Initializer, glorotUniform, zeros } from './init.js'
import { computeInput, type Empty, type Layer, empty } from './layer.js'
import { shapeError } from './shapes.js'

/**
 * Options of `dense`.
 *
 * @example
 * const options: nn.DenseOptions = { units: 64, activation: 'relu' }
 * nn.dense(options)
 */
export interface DenseOptions {
  /** Output features. */
  readonly units: number
  /** Add a bias vector (default true). */
  readonly useBias?: boolean
  /** Applied after the affine map (default none, i.e. `'linear'`). */
  readonly activation?: Activation | ActivationFn
  /** Kernel initialiser (default `glorotUniform`, as Keras). */
  readonly kernelInit?: Initializer
  /** Bias initialiser (default `zeros`). */
  readonly biasInit?: Initializer
}

/**
 * Variables of `dense`: `kernel` [in, units] and, with `useBias`, `bias` [units].
 *
 * @example
 * const { params } = nn.dense({ units: 10 }).init(key(0), [784])
 * const { kernel, bias }: nn.DenseParams = params   // [784, 10] and [10]
 */
export type DenseParams = { readonly kernel: tf.Tensor; readonly bias?: tf.Tensor }

/**
 * activation(a · w + bias) in one kernel where the engine's current backend registers
 * `RxtrainDense` (webgpu: one dispatch forward, and a gradient of one dispatch plus the matrix
 * products the tape needs, where the op path runs seven to nine); undefined elsewhere, where the
 * layer computes op by op exactly as before (cpu and wasm: same kernels, same bits). Only for
 * `'linear'` and `'relu'` (named), whose gradients the kernel computes, on float32.
 */
const fusedDense = (a: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | undefined, activation: Activation | ActivationFn | undefined): tf.Tensor | undefined => {
  const fused = activation === undefined || activation === 'linear' ? 'linear' : activation === 'relu' ? 'relu' : undefined
  if (fused === undefined || a.size === 0 || a.dtype !== 'float32' || w.dtype !== 'float32' || tf.getKernel(DENSE, tf.getBackend()) === undefined) return undefined
  const attrs = { activation: fused, hasBias: bias !== undefined } as unknown as tf.NamedAttrMap
  return tf.engine().runKernel(DENSE, bias === undefined ? { a, b: w } : { a, b: w, bias }, attrs) as tf.Tensor
}

/**
 * A fully connected layer: y = activation(x · kernel + bias). The input has rank ≥ 2 and its
 * last dimension is the `in` the layer was initialised with; leading dimensions are kept
 * (`[batch, t, in]` → `[batch, t, units]`).
 *
 * @example
 * const layer = nn.dense({ units: 10, activation: 'relu' })
 * const { params } = layer.init(key(0), [784])        // kernel [784, 10], bias [10]
 * const { y } = layer.apply({ params, state: nn.empty }, x, ctx)   // x: [batch, 784] → y: [batch, 10]
 */
export const dense = (options: DenseOptions): Layer<DenseParams, Empty> => {
  const { units, useBias = true, kernelInit = glorotUniform, biasInit = zeros } = options
  if (!Number.isInteger(units) || units < 1)
    throw rxtrainError('ConfigError', `dense: units must be a positive integer, got ${units}`, 'pass e.g. dense({ units: 128 }).', {
      units,
    })
  const activate = options.activation === undefined ? undefined : activationFn(options.activation)
  return {
    kind: 'dense',
    config: { units, useBias, activation: activationConfigName(options.activation) },
    init: (k, inputShape) => {
      const inFeatures = inputShape.at(-1)
      if (inFeatures === undefined)
        throw shapeError('dense', ['batch', '...', 'features'], [...inputShape], 'initialise dense with a feature shape such as [784].')
      const [kernelKey, biasKey] = split(k)
      const kernel = kernelInit(kernelKey, [inFeatures, units])
      const params: DenseParams = useBias ? { kernel, bias: biasInit(biasKey, [units]) } : { kernel }
      return { params, state: empty, outputShape: [...inputShape.slice(0, -1), units] }
    },
    apply: ({ params, state }, x, ctx) => {
      const inFeatures = params.kernel.shape[0] as number
      if (x.rank < 2 || x.shape.at(-1) !== inFeatures)
        throw shapeError(
          'dense',
          ['batch', ...(x.rank > 2 ? ['...'] : []), inFeatures],
          x.shape,
          x.rank < 2
            ? 'add the batch dimension (e.g. tf.expandDims(x, 0)).'
            : `feed ${inFeatures} features in the last dimension, or initialise dense for ${x.shape.at(-1)} (check a flatten() before it).`,
        )
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, inFeatures])
      const [a, w] = [computeInput(ctx, flat), computeInput(ctx, params.kernel)]
      const fused = fusedDense(a, w, params.bias, options.activation)
      if (fused !== undefined) return { y: x.rank === 2 ? fused : tf.reshape(fused, [...x.shape.slice(0, -1), units]), state }
      const linear = tf.matMul(a, w)
      const biased = params.bias === undefined ? linear : tf.add(linear, params.bias)
      const shaped = x.rank === 2 ? biased : tf.reshape(biased, [...x.shape.slice(0, -1), units])
      return { y: activate === undefined ? shaped : activate(shaped), state }
    },
  }
}
