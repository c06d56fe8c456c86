import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { hasTag } from '../../src/errors/rxtrainError.js'
import { huberLoss, meanAbsoluteError, meanSquaredError, sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from '../../src/nn/losses.js'
import { useBackend } from '../support/backend.js'
import { expectTensor, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const scalar = (t: tf.Tensor): number => {
  expect(t.shape).toEqual([])
  return t.dataSync()[0] as number
}

// logits [[0, 0, 0], [1, 2, 3]], labels [1, 2]
// row 0: −log(1/3) = ln 3 = 1.0986123
// row 1: logsumexp(1, 2, 3) = 3 + ln(1 + e^−1 + e^−2) = 3 + ln(1.5032147) = 3.4076059; loss 3.4076059 − 3 = 0.4076059
const LN3 = Math.log(3)
const LSE = 3 + Math.log(1 + Math.exp(-1) + Math.exp(-2))
const logits = (): tf.Tensor => tf.tensor([
  [0, 0, 0],
  [1, 2, 3],
])
const ids = (): tf.Tensor => tf.tensor([1, 2], [2], 'int32')
const oneHot = (): tf.Tensor => tf.tensor([
  [0, 1, 0],
  [0, 0, 1],
])

describe('softmaxCrossEntropy', () => {
  it('of known logits with int32 class ids: the batch mean of −log p(label)', () => {
    expect(LSE - 3).toBeCloseTo(0.4076059, 6)
    expect(scalar(softmaxCrossEntropy(logits(), ids()))).toBeCloseTo((LN3 + (LSE - 3)) / 2, 5)
  })

  it('one-hot labels give the same loss as ids; float ids are accepted', () => {
    expect(scalar(softmaxCrossEntropy(logits(), oneHot()))).toBeCloseTo((LN3 + (LSE - 3)) / 2, 5)
    expect(scalar(softmaxCrossEntropy(logits(), tf.tensor([1, 2])))).toBeCloseTo((LN3 + (LSE - 3)) / 2, 5)
  })

  it('label smoothing mixes in the uniform distribution: target (1 − s)·onehot + s/C', () => {
    // s = 0.3, C = 3: row 1 target [0.1, 0.1, 0.8]; log p = [1, 2, 3] − LSE
    // loss = −(0.1·(1 − LSE) + 0.1·(2 − LSE) + 0.8·(3 − LSE)) = LSE − 2.7 = 0.7076059
    // row 0: uniform logits, so any target sums to ln 3
    const loss = scalar(softmaxCrossEntropy(logits(), ids(), { labelSmoothing: 0.3 }))
    expect(loss).toBeCloseTo((LN3 + (LSE - 2.7)) / 2, 5)
  })

  it('gradient w.r.t. logits is (softmax − onehot) / batch', () => {
    const g = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l, ids()))(logits())
    const p1 = [Math.exp(1 - LSE), Math.exp(2 - LSE), Math.exp(3 - LSE)]
    expectTensor(g, [2, 3], [1 / 3 / 2, (1 / 3 - 1) / 2, 1 / 3 / 2, p1[0]! / 2, p1[1]! / 2, (p1[2]! - 1) / 2])
  })

  it('is stable for large logits', () => {
    // logits [1000, 0], label 0: loss ≈ e^−1000 ≈ 0; label 1: loss 1000
    const big = tf.tensor([[1000, 0], [1000, 0]])
    const loss = scalar(softmaxCrossEntropy(big, tf.tensor([0, 1], [2], 'int32')))
    expect(loss).toBeCloseTo(500, 3)
  })

  it('label shape mismatch is a ShapeError that names both shapes', () => {
    let caught: unknown
    try {
      softmaxCrossEntropy(logits(), tf.tensor([1, 2, 0], [3], 'int32'))
    } catch (e) {
      caught = e
    }
    expect(hasTag(caught, 'ShapeError')).toBe(true)
    expect((caught as Error).message).toContain('[2, 3]')
    expect((caught as Error).message).toContain('[3]')
  })

  const thrown = (f: () => unknown): unknown => {
    try {
      f()
    } catch (e) {
      return e
    }
    return undefined
  }

  it('a class id outside [0, classes) is a DataError naming the value, its position and the range (tf.oneHot alone gives an all-zero row)', () => {
    const four = tf.zeros([3, 4])
    for (const [bad, at] of [[7, 1], [-1, 2], [4, 0]] as const) {
      const labels = tf.tensor([0, 1, 2].map((v, i) => (i === at ? bad : v)), [3], 'int32')
      const e = thrown(() => softmaxCrossEntropy(four, labels))
      expect(hasTag(e, 'DataError')).toBe(true)
      expect((e as Error).message).toContain(`label ${bad} at [${at}]`)
      expect((e as Error).message).toContain('[0, 4)')
      expect(e).toMatchObject({ details: { value: bad, classes: 4, count: 1 } })
    }
    // float ids and ids of [batch, time] are checked too; the count says how many are out
    const e = thrown(() => softmaxCrossEntropy(tf.zeros([2, 2, 4]), tf.tensor([[0, 9], [-3, 1]])))
    expect((e as Error).message).toContain('label 9 at [0, 1]')
    expect(e).toMatchObject({ details: { count: 2 } })
  })

  it('ids in range, one-hot rows and the largest id (classes − 1) pass unchanged', () => {
    expect(scalar(softmaxCrossEntropy(tf.zeros([2, 4]), tf.tensor([0, 3], [2], 'int32')))).toBeCloseTo(Math.log(4), 5)
    // one-hot rows are not ids: a row of zeros is the user's explicit choice
    expect(scalar(softmaxCrossEntropy(tf.zeros([2, 4]), tf.zeros([2, 4])))).toBe(0)
  })
})

describe('sigmoidBinaryCrossEntropy', () => {
  it('matches −z·log σ(x) − (1 − z)·log(1 − σ(x)) and stays finite for large |x|', () => {
    // x = 0, z = 1: ln 2; x = 100, z = 1: ~0; x = −100, z = 1: 100; x = 2, z = 0: log(1 + e²) = 2.1269280
    const loss = scalar(sigmoidBinaryCrossEntropy(tf.tensor([0, 100, -100, 2]), tf.tensor([1, 1, 1, 0])))
    expect(loss).toBeCloseTo((Math.LN2 + 0 + 100 + Math.log(1 + Math.exp(2))) / 4, 4)
  })

  it('gradient is (σ(x) − z)/n, including at x = 0', () => {
    const z = tf.tensor([1, 0, 0.25])
    const g = tf.grad((x: tf.Tensor) => sigmoidBinaryCrossEntropy(x, z))(tf.tensor([0, 0, 1]))
    const s1 = 1 / (1 + Math.exp(-1))
    expectTensor(g, [3], [(0.5 - 1) / 3, 0.5 / 3, (s1 - 0.25) / 3])
  })
})

describe('regression losses', () => {
  it('meanSquaredError: (0 + 4 + 9)/3', () => {
    expect(scalar(meanSquaredError(tf.tensor([1, 2, 3]), tf.tensor([1, 0, 0])))).toBeCloseTo(13 / 3, 5)
  })

  it('meanAbsoluteError: (0 + 2 + 3)/3', () => {
    expect(scalar(meanAbsoluteError(tf.tensor([1, -2, 3]), tf.tensor([1, 0, 0])))).toBeCloseTo(5 / 3, 5)
  })

  it('huberLoss: quadratic inside delta, linear outside', () => {
    // delta 1, errors [0.5, 3, −2]: 0.5·0.25 = 0.125; 1·(3 − 0.5) = 2.5; 1·(2 − 0.5) = 1.5 → 4.125/3
    expect(scalar(huberLoss(tf.tensor([0.5, 3, -2]), tf.zeros([3])))).toBeCloseTo(4.125 / 3, 5)
    // delta 2: 0.125; 2·(3 − 1) = 4; |−2| ≤ 2 so 0.5·4 = 2 → 6.125/3
    expect(scalar(huberLoss(tf.tensor([0.5, 3, -2]), tf.zeros([3]), 2))).toBeCloseTo(6.125 / 3, 5)
  })

  it('huberLoss gradient: e inside delta, delta·sign(e) outside', () => {
    const g = tf.grad((p: tf.Tensor) => huberLoss(p, tf.zeros([2]), 1))(tf.tensor([0.5, -3]))
    expectTensor(g, [2], [0.5 / 2, -1 / 2])
  })

  it('shape mismatch (no silent broadcasting) is a ShapeError', () => {
    for (const loss of [meanSquaredError, meanAbsoluteError, huberLoss, sigmoidBinaryCrossEntropy])
      expect(() => loss(tf.zeros([4, 1]), tf.zeros([4]))).toThrow(/ShapeError.*same shape, got \[4, 1\] and \[4\]/)
    expect(valuesOf(meanSquaredError(tf.zeros([4, 1]), tf.ones([4, 1])))).toEqual([1])
  })
})
