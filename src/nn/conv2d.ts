import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { split } from '../random/key.js'
import { type Activation, type ActivationFn, activationConfigName, activationFn } from './activations.js'
import { type Initializer, glorotUniform, zeros } from './init.js'
import { computeInput, type Empty, type Layer, empty } from './layer.js'
import { type Padding, type Pair, expectHwc, expectNhwc, pairOf, windowOutputShape } from './shapes.js'

/**
 * Options of `conv2d`.
 *
 * @example
 * const options: nn.Conv2dOptions = { filters: 32, kernelSize: 3, strides: 2, padding: 'same' }
 * nn.conv2d(options).init(key(0), [28, 28, 1]).outputShape // [14, 14, 32]
 */
export interface Conv2dOptions {
  /** Output channels. */
  readonly filters: number
  /** Window size, `3` or `[kh, kw]`. */
  readonly kernelSize: Pair
  /** Step of the window (default 1). */
  readonly strides?: Pair
  /** `'valid'` (default, no padding) or `'same'` (output = ceil(input / stride)). */
  readonly padding?: Padding
  /** Dilation (atrous) rate (default 1). */
  readonly dilation?: Pair
  /** Add a bias per filter (default true). */
  readonly useBias?: boolean
  /** Applied after the convolution (default none). */
  readonly activation?: Activation | ActivationFn
  /** Kernel initialiser (default `glorotUniform`, fans = kh·kw·in and kh·kw·out). */
  readonly kernelInit?: Initializer
  /** Bias initialiser (default `zeros`). */
  readonly biasInit?: Initializer
}

/**
 * Variables of `conv2d`: `kernel` [kh, kw, in, filters] and, with `useBias`, `bias` [filters].
 *
 * @example
 * const { params } = nn.conv2d({ filters: 32, kernelSize: 3 }).init(key(0), [28, 28, 1])
 * const { kernel, bias }: nn.Conv2dParams = params   // [3, 3, 1, 32] and [32]
 */
export type Conv2dParams = { readonly kernel: tf.Tensor; readonly bias?: tf.Tensor }

/**
 * Spreads a kernel [kh, kw, in, out] to its dilated form [(kh−1)·dh+1, (kw−1)·dw+1, in, out]
 * with zeros between the taps. Convolving with it equals a dilated convolution, but only uses
 * ops whose gradients tfjs defines (tfjs' Conv2D gradient rejects dilation > 1).
 */
export const dilateKernel = (kernel: tf.Tensor, dilation: readonly [number, number]): tf.Tensor => {
  const [kh, kw, ci, co] = kernel.shape as [number, number, number, number]
  const [dh, dw] = dilation
  let k = kernel
  if (dh > 1) {
    const padded = tf.pad(tf.reshape(k, [kh, 1, kw * ci * co]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
    ])
    k = tf.slice(tf.reshape(padded, [kh * dh, kw, ci, co]), [0, 0, 0, 0], [(kh - 1) * dh + 1, kw, ci, co])
  }
  if (dw > 1) {
    const rows = k.shape[0] as number
    const padded = tf.pad(tf.reshape(k, [rows, kw, 1, ci * co]), [
      [0, 0],
      [0, 0],
      [0, dw - 1],
      [0, 0],
    ])
    k = tf.slice(tf.reshape(padded, [rows, kw * dw, ci, co]), [0, 0, 0, 0], [rows, (kw - 1) * dw + 1, ci, co])
  }
  return k
}

/**
 * A 2-D convolution over NHWC images: y = activation(conv(x, kernel) + bias), with TensorFlow's
 * padding rules. Input `[batch, h, w, in]`; output `[batch, h', w', filters]` where
 * h' = floor((h − ((kh−1)·dh+1)) / sh) + 1 for `'valid'` and ceil(h / sh) for `'same'`.
 *
 * Dilation is applied by spreading the kernel (see `dilateKernel`), so dilated convolutions
 * train (tfjs has no gradient for its own dilated Conv2D) and may be combined with strides.
 *
 * @example
 * const conv = nn.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' })
 * conv.init(key(0), [28, 28, 1]).outputShape // [28, 28, 32]
 */
export const conv2d = (options: Conv2dOptions): Layer<Conv2dParams, Empty> => {
  const { filters, padding = 'valid', useBias = true, kernelInit = glorotUniform, biasInit = zeros } = options
  if (!Number.isInteger(filters) || filters < 1)
    throw rxtrainError('ConfigError', `conv2d: filters must be a positive integer, got ${filters}`, 'pass e.g. conv2d({ filters: 32, kernelSize: 3 }).', {
      filters,
    })
  const window = pairOf('conv2d', 'kernelSize', options.kernelSize)
  const strides = pairOf('conv2d', 'strides', options.strides ?? 1)
  const dilation = pairOf('conv2d', 'dilation', options.dilation ?? 1)
  const dilated = dilation[0] > 1 || dilation[1] > 1
  const activate = options.activation === undefined ? undefined : activationFn(options.activation)
  return {
    kind: 'conv2d',
    config: { filters, kernelSize: window, strides, padding, dilation, useBias, activation: activationConfigName(options.activation) },
    init: (k, inputShape) => {
      const hwc = expectHwc('conv2d', inputShape)
      const [h, w] = windowOutputShape('conv2d', hwc, window, strides, dilation, padding)
      const [kernelKey, biasKey] = split(k)
      const kernel = kernelInit(kernelKey, [window[0], window[1], hwc[2], filters])
      const params: Conv2dParams = useBias ? { kernel, bias: biasInit(biasKey, [filters]) } : { kernel }
      return { params, state: empty, outputShape: [h, w, filters] }
    },
    apply: ({ params, state }, x, ctx) => {
      const [, h, w, c] = expectNhwc('conv2d', x, params.kernel.shape[2])
      windowOutputShape('conv2d', [h, w, c], window, strides, dilation, padding)
      const kernel = dilated ? dilateKernel(params.kernel, dilation) : params.kernel
      const conv = tf.conv2d(computeInput(ctx, x) as tf.Tensor4D, computeInput(ctx, kernel) as tf.Tensor4D, [strides[0], strides[1]], padding)
      const biased = params.bias === undefined ? conv : tf.add(conv, params.bias)
      return { y: activate === undefined ? biased : activate(biased), state }
    },
  }
}
