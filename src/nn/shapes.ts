import type * as tf from '@tensorflow/tfjs-core'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { Shape } from './layer.js'

/**
 * Shape helpers shared by the layers: formatting shapes for error messages, the `ShapeError`
 * every layer throws, and the output-size arithmetic of convolutions and pooling (the formulas
 * of TensorFlow/Keras, which tfjs follows).
 */

/**
 * A size given once for both spatial axes (`3`) or per axis (`[3, 5]`), as in Keras.
 *
 * @example
 * const kernelSize: nn.Pair = [3, 5]   // 3 high, 5 wide; 3 alone means [3, 3]
 * nn.conv2d({ filters: 16, kernelSize })
 */
export type Pair = number | readonly [number, number]

/**
 * Padding of a convolution or pooling window: `'valid'` (none) or `'same'` (output = ceil(input / stride)).
 *
 * @example
 * const padding: nn.Padding = 'same'
 * nn.conv2d({ filters: 16, kernelSize: 3, padding }).init(key(0), [28, 28, 1]).outputShape // [28, 28, 16]
 */
export type Padding = 'valid' | 'same'

/** `[1, 28, 28]` → `"[1, 28, 28]"`, the way error messages show shapes. */
export const showShape = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`

/**
 * The error a layer throws when its input does not fit: names the layer, the expected and the
 * actual shapes, and what to change.
 */
export const shapeError = (
  layer: string,
  expected: readonly (number | string)[],
  actual: readonly number[],
  remedy: string,
): RxtrainError<'ShapeError'> =>
  rxtrainError('ShapeError', `${layer} expects inputs of shape ${showShape(expected)}, got ${showShape(actual)}`, remedy, {
    layer,
    expected,
    actual,
  })

/** Expands a `Pair` to `[height, width]`, checking that both are positive integers. */
export const pairOf = (layer: string, name: string, value: Pair): readonly [number, number] => {
  const pair: readonly [number, number] = typeof value === 'number' ? [value, value] : value
  if (!pair.every((v) => Number.isInteger(v) && v > 0))
    throw rxtrainError(
      'ConfigError',
      `${layer}: ${name} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`,
      `pass e.g. ${name}: 3 or ${name}: [3, 3].`,
      { layer, [name]: value },
    )
  return pair
}

/**
 * The output length of a sliding window along one axis (TensorFlow's rule):
 * `'valid'`: floor((input − effectiveWindow) / stride) + 1, where effectiveWindow =
 * (window − 1) · dilation + 1; `'same'`: ceil(input / stride). Returns 0 or less when the window
 * does not fit.
 */
export const windowOutputSize = (input: number, window: number, stride: number, dilation: number, padding: Padding): number => {
  if (padding === 'same') return Math.ceil(input / stride)
  const effective = (window - 1) * dilation + 1
  return Math.floor((input - effective) / stride) + 1
}

/** Checks that an input has rank 4 ([batch, height, width, channels]) and returns its shape. */
export const expectNhwc = (layer: string, x: tf.Tensor, channels?: number): readonly [number, number, number, number] => {
  const c = channels ?? 'channels'
  if (x.rank !== 4 || (channels !== undefined && x.shape[3] !== channels))
    throw shapeError(
      layer,
      ['batch', 'height', 'width', c],
      x.shape,
      x.rank !== 4
        ? 'give images as a rank-4 NHWC tensor (reshape a [batch, h, w] grey-scale batch to [batch, h, w, 1]).'
        : `feed ${channels} channels, or initialise the layer for an input with ${x.shape[3]} channels.`,
    )
  return x.shape as [number, number, number, number]
}

/** Checks an init-time feature shape `[height, width, channels]` (no batch) and returns it. */
export const expectHwc = (layer: string, inputShape: Shape): readonly [number, number, number] => {
  if (inputShape.length !== 3)
    throw shapeError(
      layer,
      ['height', 'width', 'channels'],
      [...inputShape],
      'initialise the layer with a feature shape [height, width, channels], without the batch dimension.',
    )
  return inputShape as readonly [number, number, number]
}

/** The spatial output shape of a window op on `[h, w, c]`; throws a ShapeError when the window does not fit. */
export const windowOutputShape = (
  layer: string,
  inputShape: readonly [number, number, number],
  window: readonly [number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  padding: Padding,
): readonly [number, number] => {
  const h = windowOutputSize(inputShape[0], window[0], strides[0], dilation[0], padding)
  const w = windowOutputSize(inputShape[1], window[1], strides[1], dilation[1], padding)
  if (h < 1 || w < 1)
    throw rxtrainError(
      'ShapeError',
      `${layer}: a ${window[0]}x${window[1]} window (dilation ${dilation.join('x')}) does not fit an input of shape ${showShape(inputShape)} with 'valid' padding`,
      "use padding: 'same', a smaller window, or fewer downsampling layers before this one.",
      { layer, inputShape, window, strides, dilation, padding },
    )
  return [h, w]
}

/** The product of the dimensions (1 for a scalar shape). */
export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1)
