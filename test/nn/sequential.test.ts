import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { relu } from '../../src/nn/activations.js'
import { batchNorm } from '../../src/nn/batchNorm.js'
import { conv2d } from '../../src/nn/conv2d.js'
import { dense } from '../../src/nn/dense.js'
import { dropout } from '../../src/nn/dropout.js'
import { softmaxCrossEntropy } from '../../src/nn/losses.js'
import { flatten } from '../../src/nn/flatten.js'
import { maxPool2d } from '../../src/nn/pooling.js'
import { sequential } from '../../src/nn/sequential.js'
import { summarize } from '../../src/nn/summarize.js'
import { foldIn, key } from '../../src/random/key.js'
import { disposeTree, flattenParams, specOf, unflattenParams } from '../../src/tree/tree.js'
import type { Params } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, trainCtx, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

// 28 →conv3→ 26 →pool2→ 13 →conv3→ 11 →pool2→ 5 → flatten 5·5·16 = 400 → 10
const cnn = () =>
  sequential(
    conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }),
    maxPool2d({ poolSize: 2 }),
    conv2d({ filters: 16, kernelSize: 3 }),
    maxPool2d({ poolSize: 2 }),
    flatten(),
    dense({ units: 10 }),
  )

const leaf = (tree: Params, path: string): tf.Tensor => {
  const found = flattenParams(tree).find((l) => l.path === path)
  if (found === undefined) throw new Error(`no leaf ${path}`)
  return found.tensor
}

describe('sequential', () => {
  it('infers shapes layer to layer and names params `${kind}${index}`', () => {
    const { params, state, outputShape } = cnn().init(key(0), [28, 28, 1])
    expect(outputShape).toEqual([10])
    expect(specOf(params).map((s) => [s.path, s.shape])).toEqual([
      ['conv2d0/bias', [8]],
      ['conv2d0/kernel', [3, 3, 1, 8]],
      ['conv2d2/bias', [16]],
      ['conv2d2/kernel', [3, 3, 8, 16]],
      ['dense5/bias', [10]],
      ['dense5/kernel', [400, 10]],
    ])
    expect(state).toEqual({})
  })

  it('apply runs the chain: [batch, 28, 28, 1] → [batch, 10]', () => {
    const model = cnn()
    const vars = model.init(key(0), [28, 28, 1])
    const { y, state } = model.apply(vars, tf.ones([2, 28, 28, 1]), evalCtx)
    expect(y.shape).toEqual([2, 10])
    expect(state).toEqual({})
  })

  it('leaves out layers without params or state (relu1, dropout3)', () => {
    const mlp = sequential(dense({ units: 4 }), relu(), dense({ units: 3 }), dropout(0.5), dense({ units: 2 }))
    const { params } = mlp.init(key(0), [5])
    expect(Object.keys(params).sort()).toEqual(['dense0', 'dense2', 'dense4'])
  })

  it('initialises layer i with foldIn(initKey, i)', () => {
    const k = key(9)
    const { params } = sequential(relu(), dense({ units: 3 })).init(k, [4])
    const alone = dense({ units: 3 }).init(foldIn(k, 1), [4]).params
    expect(valuesOf(leaf(params, 'dense1/kernel'))).toEqual(valuesOf(alone.kernel))
    const other = sequential(relu(), dense({ units: 3 })).init(key(10), [4]).params
    expect(valuesOf(leaf(params, 'dense1/kernel'))).not.toEqual(valuesOf(leaf(other, 'dense1/kernel')))
  })

  it('computes the composition of its layers (hand-computed MLP)', () => {
    // x = [1, −2]; dense0: kernel [[1, 0], [0, 1]], bias [0, 0] → [1, −2]; relu → [1, 0];
    // dense2: kernel [[2], [3]], bias [1] → 1·2 + 0·3 + 1 = 3
    const mlp = sequential(dense({ units: 2 }), relu(), dense({ units: 1 }))
    const params = {
      dense0: { kernel: tf.tensor([[1, 0], [0, 1]]), bias: tf.tensor([0, 0]) },
      dense2: { kernel: tf.tensor([[2], [3]]), bias: tf.tensor([1]) },
    }
    expectTensor(mlp.apply({ params, state: {} }, tf.tensor([[1, -2]]), evalCtx).y, [1, 1], [3])
  })

  it('threads state: batchNorm1 state goes in and its next state comes out', () => {
    const net = sequential(dense({ units: 3 }), batchNorm(), relu())
    const vars = net.init(key(0), [2])
    expect(Object.keys(vars.params).sort()).toEqual(['batchNorm1', 'dense0'])
    expect(Object.keys(vars.state)).toEqual(['batchNorm1'])
    const x = tf.tensor([[1, 2], [3, -1], [0, 5]])
    const train = net.apply(vars, x, trainCtx())
    expect(Object.keys(train.state)).toEqual(['batchNorm1'])
    const before = valuesOf(leaf(vars.state, 'batchNorm1/runningMean'))
    const after = valuesOf(leaf(train.state, 'batchNorm1/runningMean'))
    expect(before).toEqual([0, 0, 0])
    expect(after).not.toEqual(before)
    // eval returns the same state tensors it was given
    const evaluated = net.apply(vars, x, evalCtx)
    expect(leaf(evaluated.state, 'batchNorm1/runningVar')).toBe(leaf(vars.state, 'batchNorm1/runningVar'))
  })

  it('gives each layer its own key: two dropouts draw different masks', () => {
    const net = sequential(dropout(0.5), dropout(0.5))
    const vars = net.init(key(0), [1000])
    const x = tf.ones([1, 1000])
    const y = valuesOf(net.apply(vars, x, trainCtx(3)).y)
    // survivors of both layers are 4; if both masks were equal, every survivor of the first would survive
    // the second and the kept fraction would be 1/2 instead of 1/4
    const kept = y.filter((v) => v !== 0).length / 1000
    expect(Math.abs(kept - 0.25)).toBeLessThan(0.05)
    expect(new Set(y.filter((v) => v !== 0))).toEqual(new Set([4]))
    expect(valuesOf(net.apply(vars, x, trainCtx(3)).y)).toEqual(y)
  })

  it('trains end to end: gradients reach every parameter and an SGD step lowers the loss', () => {
    const net = sequential(
      conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      batchNorm(),
      maxPool2d({ poolSize: 2 }),
      flatten(),
      dropout(0.1),
      dense({ units: 3 }),
    )
    const vars = net.init(key(0), [6, 6, 1])
    const x = tf.tensor(Array.from({ length: 4 * 36 }, (_, i) => Math.cos(i * 0.7)), [4, 6, 6, 1])
    const labels = tf.tensor([0, 1, 2, 1], [4], 'int32')
    const names = flattenParams(vars.params).map((l) => l.path)
    const lossOf = (...leaves: tf.Tensor[]): tf.Scalar => {
      const params = unflattenParams(vars.params, leaves)
      return softmaxCrossEntropy(net.apply({ params, state: vars.state }, x, trainCtx(2)).y, labels)
    }
    const leaves = flattenParams(vars.params).map((l) => l.tensor)
    const { value, grads } = tf.valueAndGrads(lossOf)(leaves)
    grads.forEach((g, i) => expect(valuesOf(g).some((v) => v !== 0), names[i]).toBe(true))
    const stepped = leaves.map((p, i) => tf.sub(p, tf.mul(grads[i] as tf.Tensor, 0.1)))
    expect(valuesOf(lossOf(...stepped))[0]).toBeLessThan(valuesOf(value)[0] as number)
  })

  it('propagates ShapeErrors from init when shapes do not chain', () => {
    expect(() => sequential(flatten(), conv2d({ filters: 2, kernelSize: 3 })).init(key(0), [28, 28, 1])).toThrow(/ShapeError: conv2d expects/)
  })

  it('an empty sequential is the identity (a new tensor)', () => {
    const x = tf.tensor([[1, 2]])
    const { y } = sequential().apply({ params: {}, state: {} }, x, evalCtx)
    expect(y).not.toBe(x)
    expect(valuesOf(y)).toEqual([1, 2])
  })
})

describe('summarize', () => {
  it('flatten → dense 784→10 has 7850 parameters (784·10 + 10)', () => {
    const s = summarize(sequential(flatten(), dense({ units: 10 })), [28, 28, 1])
    expect(s.rows).toEqual([
      { name: 'flatten0', kind: 'flatten', outputShape: [784], paramCount: 0, stateCount: 0 },
      { name: 'dense1', kind: 'dense', outputShape: [10], paramCount: 7850, stateCount: 0 },
    ])
    expect(s.totalParamCount).toBe(7850)
    expect(s.totalStateCount).toBe(0)
  })

  it('counts the CNN by hand and leaves no tensors behind', () => {
    const before = tf.memory().numTensors
    const s = summarize(cnn(), [28, 28, 1])
    expect(tf.memory().numTensors).toBe(before)
    // conv2d0: 3·3·1·8 + 8 = 80; conv2d2: 3·3·8·16 + 16 = 1168; dense5: 400·10 + 10 = 4010
    expect(s.rows.map((r) => [r.name, r.outputShape, r.paramCount])).toEqual([
      ['conv2d0', [26, 26, 8], 80],
      ['maxPool2d1', [13, 13, 8], 0],
      ['conv2d2', [11, 11, 16], 1168],
      ['maxPool2d3', [5, 5, 16], 0],
      ['flatten4', [400], 0],
      ['dense5', [10], 4010],
    ])
    expect(s.totalParamCount).toBe(80 + 1168 + 4010)
  })

  it('counts batch-norm state separately; a lone layer is one row', () => {
    const s = summarize(sequential(dense({ units: 4 }), batchNorm()), [3])
    // dense0: 3·4 + 4 = 16; batchNorm1: gamma + beta = 8 params, running mean + var = 8 state
    expect(s.rows.map((r) => [r.name, r.paramCount, r.stateCount])).toEqual([
      ['dense0', 16, 0],
      ['batchNorm1', 8, 8],
    ])
    expect([s.totalParamCount, s.totalStateCount]).toEqual([24, 8])
    const lone = summarize(dense({ units: 10 }), [784])
    expect(lone.rows).toEqual([{ name: 'dense', kind: 'dense', outputShape: [10], paramCount: 7850, stateCount: 0 }])
  })

  it('agrees with the parameters sequential.init builds', () => {
    const vars = cnn().init(key(5), [28, 28, 1])
    const total = flattenParams(vars.params).reduce((n, l) => n + l.tensor.size, 0)
    expect(summarize(cnn(), [28, 28, 1]).totalParamCount).toBe(total)
    disposeTree(vars)
  })
})
