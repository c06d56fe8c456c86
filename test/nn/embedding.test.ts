import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { embedding } from '../../src/nn/embedding.js'
import { normalInit } from '../../src/nn/init.js'
import { empty } from '../../src/nn/layer.js'
import { key } from '../../src/random/key.js'
import { useBackend } from '../support/backend.js'
import { evalCtx, expectTensor, statsOf, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const table = (): tf.Tensor => tf.tensor([
  [0, 1],
  [10, 11],
  [20, 21],
])

describe('embedding', () => {
  it('init: table [vocabSize, dim] drawn N(0, 1) from the key; output shape appends dim', () => {
    const layer = embedding({ vocabSize: 500, dim: 64 })
    const { params, state, outputShape } = layer.init(key(2), [20])
    expect(params.table.shape).toEqual([500, 64])
    expect(state).toEqual({})
    expect(outputShape).toEqual([20, 64])
    expect(valuesOf(params.table)).toEqual(valuesOf(normalInit(1)(key(2), [500, 64])))
    const s = statsOf(params.table.dataSync())
    expect(Math.abs(s.std - 1)).toBeLessThan(0.02)
  })

  it('maps int32 ids [batch, t] to rows [batch, t, dim]', () => {
    const ids = tf.tensor([
      [2, 0],
      [1, 1],
    ], undefined, 'int32')
    const { y } = embedding({ vocabSize: 3, dim: 2 }).apply({ params: { table: table() }, state: empty }, ids, evalCtx)
    expectTensor(y, [2, 2, 2], [20, 21, 0, 1, 10, 11, 10, 11])
  })

  it('gradient w.r.t. the table counts each id (cpu backend)', () => {
    const ids = tf.tensor([2, 0, 1, 1], [4], 'int32')
    const layer = embedding({ vocabSize: 3, dim: 2 })
    const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply({ params: { table: t }, state: empty }, ids, evalCtx).y))(table())
    // id 0 once, id 1 twice, id 2 once
    expectTensor(g, [3, 2], [1, 1, 2, 2, 1, 1])
  })

  it('float ids are a DataError', () => {
    expect(() => embedding({ vocabSize: 3, dim: 2 }).apply({ params: { table: table() }, state: empty }, tf.tensor([1, 2]), evalCtx)).toThrow(/DataError: embedding expects int32 ids/)
  })
})
