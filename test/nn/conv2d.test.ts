import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { hasTag } from '../../src/errors/rxtrainError.js'
import { conv2d, dilateKernel } from '../../src/nn/conv2d.js'
import { empty } from '../../src/nn/layer.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, iota, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

// The 3×3 image 1..9 (one channel) and the 2×2 kernel [[1, 2], [3, 4]].
const image3 = (): tf.Tensor => iota([1, 3, 3, 1])
const kernel2 = (): tf.Tensor => tf.tensor([1, 2, 3, 4], [2, 2, 1, 1])

const throwsTag = (f: () => unknown, tag: string): void => {
  try {
    f()
  } catch (e) {
    expect(hasTag(e, tag as 'ShapeError')).toBe(true)
    return
  }
  expect.fail('expected a throw')
}

describe('conv2d', () => {
  it('valid 2×2 convolution with bias on a 3×3 image', () => {
    // top-left: 1·1 + 2·2 + 4·3 + 5·4 = 37; then 47, 67, 77; plus bias 1
    const { y } = conv2d({ filters: 1, kernelSize: 2 }).apply({ params: { kernel: kernel2(), bias: tf.tensor([1]) }, state: empty }, image3(), evalCtx)
    expectTensor(y, [1, 2, 2, 1], [38, 48, 68, 78])
  })

  it("'same' padding pads bottom/right (TensorFlow's rule)", () => {
    // out[0,2] = 3·1 + 6·3 = 21; out[1,2] = 6·1 + 9·3 = 33; out[2,0] = 7·1 + 8·2 = 23; out[2,1] = 8 + 18 = 26; out[2,2] = 9
    const { y } = conv2d({ filters: 1, kernelSize: 2, padding: 'same' }).apply({ params: { kernel: kernel2() }, state: empty }, image3(), evalCtx)
    expectTensor(y, [1, 3, 3, 1], [37, 47, 21, 67, 77, 33, 23, 26, 9])
  })

  it('mixes channels: a 1×1 kernel is a per-pixel matrix product', () => {
    // [1, 2]·[[1, 2, 3], [4, 5, 6]] = [9, 12, 15]
    const x = tf.tensor([1, 2], [1, 1, 1, 2])
    const kernel = tf.tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3])
    const { y } = conv2d({ filters: 3, kernelSize: 1 }).apply({ params: { kernel }, state: empty }, x, evalCtx)
    expectTensor(y, [1, 1, 1, 3], [9, 12, 15])
  })

  it('strides: a 2×2 box filter with stride 2 on the 4×4 image 1..16', () => {
    // windows: 1+2+5+6 = 14, 3+4+7+8 = 22, 9+10+13+14 = 46, 11+12+15+16 = 54
    const ones = tf.ones([2, 2, 1, 1])
    const { y } = conv2d({ filters: 1, kernelSize: 2, strides: 2 }).apply({ params: { kernel: ones }, state: empty }, iota([1, 4, 4, 1]), evalCtx)
    expectTensor(y, [1, 2, 2, 1], [14, 22, 46, 54])
  })

  it('dilation 2: a 2×2 box filter sees the corners of a 3×3 window', () => {
    // 1 + 3 + 7 + 9 = 20
    const { y } = conv2d({ filters: 1, kernelSize: 2, dilation: 2 }).apply({ params: { kernel: tf.ones([2, 2, 1, 1]) }, state: empty }, image3(), evalCtx)
    expectTensor(y, [1, 1, 1, 1], [20])
  })

  it('dilateKernel spreads taps with zeros; dilated conv matches tfjs dilations and has a gradient', () => {
    expectTensor(dilateKernel(kernel2(), [2, 3]), [3, 4, 1, 1], [1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4])
    const layer = conv2d({ filters: 3, kernelSize: [2, 3], dilation: [2, 1], padding: 'same' })
    const model = layer.init(key(1), [6, 7, 2])
    const x = tf.tensor(Array.from({ length: 84 }, (_, i) => Math.sin(i)), [1, 6, 7, 2])
    const ours = layer.apply(model, x, evalCtx).y
    const native = tf.add(tf.conv2d(x as tf.Tensor4D, model.params.kernel as tf.Tensor4D, 1, 'same', 'NHWC', [2, 1]), model.params.bias as tf.Tensor)
    expect(model.outputShape).toEqual([6, 7, 3])
    expect(ours.shape).toEqual([1, 6, 7, 3])
    expectTensor(ours, native.shape, valuesOf(native), 1e-4)
    const g = tf.grad((k: tf.Tensor) => tf.sum(layer.apply({ params: { kernel: k }, state: empty }, x, evalCtx).y))(model.params.kernel)
    expect(g.shape).toEqual([2, 3, 2, 3])
    expect(valuesOf(g).some((v) => v !== 0)).toBe(true)
  })

  it('infers output shapes (valid, same, strided, dilated) and they match apply', () => {
    const cases = [
      [{ filters: 8, kernelSize: 5 }, [28, 28, 1], [24, 24, 8]],
      [{ filters: 4, kernelSize: 3, padding: 'same' as const, strides: 2 }, [28, 28, 1], [14, 14, 4]],
      [{ filters: 2, kernelSize: [3, 1] as const, strides: [2, 1] as const }, [9, 5, 3], [4, 5, 2]],
      [{ filters: 2, kernelSize: 3, dilation: 2 }, [10, 10, 1], [6, 6, 2]],
    ] as const
    for (const [options, inputShape, expected] of cases) {
      const layer = conv2d(options)
      const model = layer.init(key(0), inputShape)
      expect(model.outputShape).toEqual(expected)
      expect(model.params.kernel.shape).toEqual([...(typeof options.kernelSize === 'number' ? [options.kernelSize, options.kernelSize] : options.kernelSize), inputShape[2], options.filters])
      expect(layer.apply(model, tf.zeros([2, ...inputShape]), evalCtx).y.shape).toEqual([2, ...expected])
    }
  })

  it('ShapeErrors: wrong rank, wrong channels, window larger than the input', () => {
    const layer = conv2d({ filters: 2, kernelSize: 3 })
    const model = layer.init(key(0), [8, 8, 3])
    throwsTag(() => layer.apply(model, tf.zeros([2, 8, 8]), evalCtx), 'ShapeError')
    expect(() => layer.apply(model, tf.zeros([2, 8, 8, 1]), evalCtx)).toThrow(/conv2d expects inputs of shape \[batch, height, width, 3\], got \[2, 8, 8, 1\]/)
    throwsTag(() => layer.init(key(0), [2, 2, 3]), 'ShapeError')
    throwsTag(() => layer.init(key(0), [64, 3]), 'ShapeError')
    throwsTag(() => conv2d({ filters: 2, kernelSize: 0 }), 'ConfigError')
  })
})
