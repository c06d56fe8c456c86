import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { accuracy, crossEntropy, type HostStat, isStat, mae, mse, type Stat, statMonoid, statValue } from '../../src/metrics/index.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/** Reads a stat back to the host, checking its sum is a scalar. */
const host = (s: Stat): HostStat => {
  if (typeof s.sum === 'number') return { sum: s.sum, weight: s.weight }
  expect(s.sum.shape).toEqual([])
  return { sum: s.sum.dataSync()[0] as number, weight: s.weight }
}

// Four examples, three classes (no ties anywhere):
// row 0 [2, 1, 0.5]     order 0 > 1 > 2   label 0 → top-1 ✓
// row 1 [0.1, 0.3, 0.2] order 1 > 2 > 0   label 0 → top-1 ✗, top-2 ✗, top-3 ✓
// row 2 [1, 3, 2]       order 1 > 2 > 0   label 1 → top-1 ✓
// row 3 [0, 0.5, 5]     order 2 > 1 > 0   label 1 → top-1 ✗, top-2 ✓
const LOGITS = [
  [2, 1, 0.5],
  [0.1, 0.3, 0.2],
  [1, 3, 2],
  [0, 0.5, 5],
]
const LABELS = [0, 0, 1, 1]
const logits = (): tf.Tensor => tf.tensor(LOGITS)
const ids = (): tf.Tensor => tf.tensor(LABELS, [4], 'int32')
const oneHot = (): tf.Tensor => tf.tensor(LABELS.map((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0))))

describe('accuracy', () => {
  it('top-1 with int labels: correct count over batch size', () => {
    expect(host(accuracy(logits(), ids()))).toEqual({ sum: 2, weight: 4 })
  })

  it('top-1 with one-hot labels gives the same stat', () => {
    expect(host(accuracy(logits(), oneHot()))).toEqual({ sum: 2, weight: 4 })
  })

  it('top-1 with float class ids', () => {
    expect(host(accuracy(logits(), tf.tensor(LABELS)))).toEqual({ sum: 2, weight: 4 })
  })

  it('top-k counts a label among the k largest logits', () => {
    expect(host(accuracy(logits(), ids(), { k: 2 }))).toEqual({ sum: 3, weight: 4 })
    expect(host(accuracy(logits(), oneHot(), { k: 2 }))).toEqual({ sum: 3, weight: 4 })
    expect(host(accuracy(logits(), ids(), { k: 3 }))).toEqual({ sum: 4, weight: 4 })
  })

  it('with [batch, time, classes] logits, counts every position', () => {
    // two sequences of two positions: the rows of LOGITS, labels as before
    const seq = tf.tensor(LOGITS.flat(), [2, 2, 3])
    expect(host(accuracy(seq, tf.tensor(LABELS, [2, 2], 'int32')))).toEqual({ sum: 2, weight: 4 })
    expect(host(crossEntropy(seq, tf.tensor(LABELS, [2, 2], 'int32'))).weight).toBe(4)
  })

  it('reads labels of shape [batch, 1] as class ids, not as one-hot rows', () => {
    const column = tf.tensor(LABELS, [4, 1], 'int32')
    expect(host(accuracy(logits(), column))).toEqual({ sum: 2, weight: 4 })
    expect(host(accuracy(logits(), column, { k: 2 }))).toEqual({ sum: 3, weight: 4 })
  })

  it('does not dispose its inputs', () => {
    const l = logits()
    const y = ids()
    accuracy(l, y, { k: 2 })
    expect(l.isDisposed).toBe(false)
    expect(y.isDisposed).toBe(false)
  })
})

/** −log softmax(row)[label], computed by hand with Math. */
const nll = (row: readonly number[], label: number): number => {
  const m = Math.max(...row)
  const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0))
  return lse - (row[label] as number)
}

describe('crossEntropy', () => {
  const expected = LOGITS.reduce((a, row, i) => a + nll(row, LABELS[i] as number), 0)

  it('sums the per-example negative log-likelihood over the batch, with int labels', () => {
    const s = host(crossEntropy(logits(), ids()))
    expect(s.weight).toBe(4)
    expect(s.sum).toBeCloseTo(expected, 5)
    // A value to check the hand formula against: row 1 = ln(e^.1 + e^.3 + e^.2) − 0.1 = 1.3019428 − 0.1.
    expect(nll([0.1, 0.3, 0.2], 0)).toBeCloseTo(1.2019428, 6)
  })

  it('gives the same value with one-hot labels', () => {
    expect(host(crossEntropy(logits(), oneHot())).sum).toBeCloseTo(expected, 5)
  })

  it('gives the same value with class ids of shape [batch, 1]', () => {
    expect(host(crossEntropy(logits(), tf.tensor(LABELS, [4, 1], 'int32'))).sum).toBeCloseTo(expected, 5)
  })

  it('accepts soft labels (probability rows)', () => {
    const soft = tf.tensor([
      [0.5, 0.5, 0],
      [0, 0, 1],
    ])
    const l = tf.tensor([LOGITS[0] as number[], LOGITS[1] as number[]])
    const want = 0.5 * nll(LOGITS[0]!, 0) + 0.5 * nll(LOGITS[0]!, 1) + nll(LOGITS[1]!, 2)
    const s = host(crossEntropy(l, soft))
    expect(s.weight).toBe(2)
    expect(s.sum).toBeCloseTo(want, 5)
  })

  it('is stable for large logits', () => {
    const s = host(crossEntropy(tf.tensor([[1000, 0]]), tf.tensor([1], [1], 'int32')))
    expect(s.sum).toBeCloseTo(1000, 3)
  })
})

describe('class ids outside [0, classes)', () => {
  const thrown = (f: () => unknown): unknown => {
    try {
      f()
    } catch (e) {
      return e
    }
    return undefined
  }

  it('are a DataError naming the metric, the value and the range (they would count as wrong, or add nothing, silently)', () => {
    for (const bad of [3, -1]) {
      const labels = tf.tensor([0, bad, 1, 1], [4], 'int32')
      for (const [name, f] of [['metrics.accuracy', () => accuracy(logits(), labels)], ['metrics.crossEntropy', () => crossEntropy(logits(), labels)]] as const) {
        const e = thrown(f)
        expect(e).toMatchObject({ tag: 'DataError', details: { value: bad, classes: 3 } })
        expect((e as Error).message).toContain(`${name}: label ${bad} at [1]`)
        expect((e as Error).message).toContain('[0, 3)')
      }
    }
    // ids of shape [batch, 1] too
    expect(thrown(() => accuracy(logits(), tf.tensor([0, 0, 5, 1], [4, 1], 'int32')))).toMatchObject({ details: { value: 5, position: '[2, 0]' } })
  })
})

describe('mse / mae', () => {
  const pred = () => tf.tensor([
    [1, 2],
    [3, 4],
  ])
  const target = () => tf.tensor([
    [1, 0],
    [0, 4.5],
  ])

  it('mse: the sum of squared differences over all elements, weight = element count', () => {
    // (0)² + (2)² + (3)² + (−0.5)² = 13.25
    const s = host(mse(pred(), target()))
    expect(s.weight).toBe(4)
    expect(s.sum).toBeCloseTo(13.25, 6)
    expect(statValue(s)).toBeCloseTo(13.25 / 4, 6)
  })

  it('mae: the sum of absolute differences', () => {
    // 0 + 2 + 3 + 0.5 = 5.5
    const s = host(mae(pred(), target()))
    expect(s.weight).toBe(4)
    expect(s.sum).toBeCloseTo(5.5, 6)
  })
})

describe('statMonoid', () => {
  const samples: HostStat[] = [
    { sum: 3, weight: 2 },
    { sum: -1.5, weight: 1 },
    { sum: 0, weight: 0 },
    { sum: 10.25, weight: 7 },
  ]
  const { concat, empty } = statMonoid

  it('has an identity on both sides', () => {
    for (const s of samples) {
      expect(concat(empty, s)).toEqual(s)
      expect(concat(s, empty)).toEqual(s)
    }
  })

  it('is associative', () => {
    for (const a of samples)
      for (const b of samples)
        for (const c of samples) expect(concat(concat(a, b), c)).toEqual(concat(a, concat(b, c)))
  })

  it('adds sums and weights', () => {
    expect(concat({ sum: 1, weight: 2 }, { sum: 3, weight: 4 })).toEqual({ sum: 4, weight: 6 })
  })

  it('merging stats of unequal batches gives the exact dataset mean, unlike the mean of batch means', () => {
    // Absolute errors of 5 examples: batch A has 1 example, batch B has 4.
    const errs = [8, 0, 1, 2, 1]
    const a = host(mae(tf.tensor([errs[0]!]), tf.zeros([1])))
    const b = host(mae(tf.tensor(errs.slice(1)), tf.zeros([4])))
    const exact = statValue(concat(a, b))
    const meanOfMeans = (statValue(a) + statValue(b)) / 2
    const datasetMean = errs.reduce((x, y) => x + y, 0) / errs.length
    expect(exact).toBeCloseTo(datasetMean, 6) // 12 / 5 = 2.4
    expect(exact).toBeCloseTo(2.4, 6)
    expect(meanOfMeans).toBeCloseTo(4.5, 6) // (8 + 1) / 2
    expect(Math.abs(exact - meanOfMeans)).toBeGreaterThan(1)
  })

  it('accuracy stats over unequal batches merge to the exact epoch accuracy', () => {
    const first = host(accuracy(tf.tensor([[1, 0]]), tf.tensor([0], [1], 'int32'))) // 1 / 1
    const second = host(accuracy(logits(), ids())) // 2 / 4
    expect(statValue(statMonoid.concat(first, second))).toBeCloseTo(3 / 5, 6)
    expect((statValue(first) + statValue(second)) / 2).toBeCloseTo(0.75, 6)
  })
})

describe('statValue / isStat', () => {
  it('statValue is sum / weight, NaN when the stat covers nothing', () => {
    expect(statValue({ sum: 6, weight: 4 })).toBe(1.5)
    expect(statValue(statMonoid.empty)).toBeNaN()
  })

  it('isStat tells stats from scalars and other objects', () => {
    expect(isStat({ sum: 1, weight: 2 })).toBe(true)
    expect(isStat(accuracy(logits(), ids()))).toBe(true)
    expect(isStat(3)).toBe(false)
    expect(isStat(null)).toBe(false)
    expect(isStat(tf.scalar(1))).toBe(false)
    expect(isStat({ sum: 1 })).toBe(false)
    expect(isStat({ sum: 1, weight: '2' })).toBe(false)
    expect(isStat({ value: 1, weight: 2 })).toBe(false)
  })
})
