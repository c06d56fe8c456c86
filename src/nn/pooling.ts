import * as tf from '@tensorflow/tfjs-core'
import type { Empty, Layer } from './layer.js'
import { type Padding, type Pair, expectHwc, expectNhwc, pairOf, windowOutputShape } from './shapes.js'
import { statelessLayer } from './stateless.js'

/**
 * Options of `maxPool2d` and `avgPool2d`.
 *
 * @example
 * const options: nn.Pool2dOptions = { poolSize: 3, strides: 2, padding: 'same' }
 * nn.maxPool2d(options).init(key(0), [28, 28, 32]).outputShape // [14, 14, 32]
 */
export interface Pool2dOptions {
  /** Window size, `2` or `[ph, pw]`. */
  readonly poolSize: Pair
  /** Step of the window (default: the pool size, i.e. non-overlapping windows). */
  readonly strides?: Pair
  /** `'valid'` (default) or `'same'`. */
  readonly padding?: Padding
}

const pool2d = (kind: 'maxPool2d' | 'avgPool2d', options: Pool2dOptions): Layer<Empty, Empty> => {
  const window = pairOf(kind, 'poolSize', options.poolSize)
  const strides = pairOf(kind, 'strides', options.strides ?? options.poolSize)
  const padding = options.padding ?? 'valid'
  const op = kind === 'maxPool2d' ? tf.maxPool : tf.avgPool
  return statelessLayer(
    kind,
    (inputShape) => {
      const hwc = expectHwc(kind, inputShape)
      return [...windowOutputShape(kind, hwc, window, strides, [1, 1], padding), hwc[2]]
    },
    (x) => {
      const [, h, w, c] = expectNhwc(kind, x)
      windowOutputShape(kind, [h, w, c], window, strides, [1, 1], padding)
      return op(x as tf.Tensor4D, [window[0], window[1]], [strides[0], strides[1]], padding)
    },
    { poolSize: window, strides, padding },
  )
}

/**
 * Max pooling over NHWC images: the maximum of each window, per channel. Output
 * `[batch, h', w', c]` with h' = floor((h − ph) / sh) + 1 (`'valid'`) or ceil(h / sh) (`'same'`).
 *
 * @example
 * nn.maxPool2d({ poolSize: 2 }).init(key(0), [28, 28, 32]).outputShape // [14, 14, 32]
 */
export const maxPool2d = (options: Pool2dOptions): Layer<Empty, Empty> => pool2d('maxPool2d', options)

/**
 * Average pooling over NHWC images. With `'same'` padding, windows at the border average only
 * the real pixels (TensorFlow's rule; PyTorch's `count_include_pad=False`).
 *
 * @example
 * nn.avgPool2d({ poolSize: 2 }).init(key(0), [28, 28, 32]).outputShape // [14, 14, 32]
 */
export const avgPool2d = (options: Pool2dOptions): Layer<Empty, Empty> => pool2d('avgPool2d', options)

/**
 * Global average pooling: the mean over height and width, `[batch, h, w, c]` → `[batch, c]`.
 *
 * @example
 * nn.globalAvgPool2d().init(key(0), [7, 7, 64]).outputShape // [64]
 */
export const globalAvgPool2d = (): Layer<Empty, Empty> =>
  statelessLayer(
    'globalAvgPool2d',
    (inputShape) => [expectHwc('globalAvgPool2d', inputShape)[2]],
    (x) => {
      expectNhwc('globalAvgPool2d', x)
      return tf.mean(x, [1, 2])
    },
  )
