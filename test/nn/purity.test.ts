import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { gelu, relu, softmax } from '../../src/nn/activations.js'
import { batchNorm } from '../../src/nn/batchNorm.js'
import { conv2d } from '../../src/nn/conv2d.js'
import { dense } from '../../src/nn/dense.js'
import { dropout } from '../../src/nn/dropout.js'
import { embedding } from '../../src/nn/embedding.js'
import { flatten } from '../../src/nn/flatten.js'
import type { Layer, LayerContext, Shape } from '../../src/nn/layer.js'
import { layerNorm } from '../../src/nn/layerNorm.js'
import { avgPool2d, globalAvgPool2d, maxPool2d } from '../../src/nn/pooling.js'
import { sequential } from '../../src/nn/sequential.js'
import { key } from '../../src/random/key.js'
import { normal } from '../../src/random/sample.js'
import { disposeTree, tensorsOf } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, trainCtx, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const floatInput = (shape: Shape) => (): tf.Tensor =>
  tf.tensor(normal(key(42), 2 * shape.reduce((a, b) => a * b, 1)), [2, ...shape])

type Case = readonly [string, Layer, Shape, () => tf.Tensor]

const cases: readonly Case[] = [
  ['dense', dense({ units: 3, activation: 'gelu' }), [4], floatInput([4])],
  ['conv2d', conv2d({ filters: 2, kernelSize: 2, dilation: 2, padding: 'same' }), [5, 5, 2], floatInput([5, 5, 2])],
  ['maxPool2d', maxPool2d({ poolSize: 2 }), [4, 4, 1], floatInput([4, 4, 1])],
  ['avgPool2d', avgPool2d({ poolSize: 2 }), [4, 4, 1], floatInput([4, 4, 1])],
  ['globalAvgPool2d', globalAvgPool2d(), [3, 3, 2], floatInput([3, 3, 2])],
  ['flatten', flatten(), [2, 3], floatInput([2, 3])],
  ['dropout', dropout(0.5), [16], floatInput([16])],
  ['batchNorm', batchNorm(), [3], floatInput([3])],
  ['layerNorm', layerNorm(), [5], floatInput([5])],
  ['embedding', embedding({ vocabSize: 7, dim: 3 }), [4], () => tf.tensor([0, 6, 2, 2, 1, 3, 5, 4], [2, 4], 'int32')],
  ['relu', relu(), [3], floatInput([3])],
  ['softmax', softmax(), [3], floatInput([3])],
  ['gelu', gelu(), [3], floatInput([3])],
  ['sequential', sequential(dense({ units: 4 }), batchNorm(), relu(), dropout(0.25), dense({ units: 2 })), [3], floatInput([3])],
]

const contexts: readonly (readonly [string, LayerContext])[] = [
  ['eval', evalCtx],
  ['train', trainCtx(5)],
]

describe.each(cases)('%s', (_name, layer, inputShape, input) => {
  it.each(contexts)('%s: same inputs give equal outputs, nothing given is disposed, output shape as inferred', (_mode, ctx) => {
    const model = layer.init(key(1), inputShape)
    const x = input()
    const a = layer.apply(model, x, ctx)
    const b = layer.apply(model, x, ctx)
    expect(valuesOf(a.y)).toEqual(valuesOf(b.y))
    expect(a.y.shape).toEqual([2, ...model.outputShape])
    expect(a.y).not.toBe(x)
    expect(x.isDisposed).toBe(false)
    for (const t of tensorsOf([model.params, model.state])) expect(t.isDisposed).toBe(false)
    disposeTree([a, b, x, model])
  })

  it.each(contexts)('%s: apply inside tf.tidy leaks nothing', (_mode, ctx) => {
    const model = layer.init(key(1), inputShape)
    const x = input()
    const given = new Set(tensorsOf([model, x]).map((t) => t.id))
    const before = tf.memory().numTensors
    const kept = tf.tidy(() => {
      const out = layer.apply(model, x, ctx)
      return [out.y, ...tensorsOf(out.state)]
    })
    // only the output and the genuinely new state tensors survive the tidy
    const fresh = kept.filter((t) => !given.has(t.id))
    expect(tf.memory().numTensors).toBe(before + fresh.length)
    tf.dispose(fresh)
    expect(tf.memory().numTensors).toBe(before)
    expect(x.isDisposed).toBe(false)
    disposeTree([model, x])
  })
})
