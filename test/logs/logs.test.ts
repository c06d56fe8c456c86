import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  addToEpoch,
  combine,
  type EpochLogs,
  epochValues,
  log,
  type PendingLog,
  pendingLogs,
  progressBarNames,
  publishedName,
  type ReadLog,
  readLog,
  resultOf,
  stepValues,
} from '../../src/pipeline/logs.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const TRAIN = { onStep: true, onEpoch: false } as const
const EVAL = { onStep: false, onEpoch: true } as const

/** The single pending log of `{ name: value }`. */
const one = (value: Parameters<typeof pendingLogs>[0], defaults: { onStep: boolean; onEpoch: boolean } = TRAIN, batchSize = 8): PendingLog => {
  const logs = pendingLogs(value, defaults, batchSize)
  expect(logs).toHaveLength(1)
  return logs[0] as PendingLog
}

/** A read log of one step: a plain scalar `raw` logged under `name` with options, batch size `n`. */
const step = (name: string, raw: number, n: number, options: Parameters<typeof log>[1] = {}, defaults: { onStep: boolean; onEpoch: boolean } = EVAL): ReadLog =>
  readLog(one({ [name]: log(raw, options) }, defaults, n), raw)

/** The epoch value of a list of steps' read logs. */
const epochOf = (...steps: ReadLog[][]): Record<string, number> => epochValues(steps.reduce<EpochLogs>((acc, s) => addToEpoch(acc, s), new Map()))

describe('pendingLogs', () => {
  it('train-like defaults: per step, not per epoch, mean weighted by the batch size', () => {
    expect(one({ 'train/loss': 0.5 }, TRAIN, 32)).toEqual({
      name: 'train/loss',
      source: 0.5,
      weight: 32,
      isSum: false,
      reduce: 'mean',
      onStep: true,
      onEpoch: false,
      progBar: false,
    })
  })

  it('eval-like defaults: per epoch, not per step', () => {
    const p = one({ 'val/loss': 0.25 }, EVAL, 4)
    expect(p.onStep).toBe(false)
    expect(p.onEpoch).toBe(true)
    expect(p.weight).toBe(4)
  })

  it('keeps a tensor as the source (still on the device)', () => {
    const t = tf.scalar(1.5)
    const p = one({ loss: t })
    expect(p.source).toBe(t)
    expect(p.isSum).toBe(false)
  })

  it('a stat logs its sum with its own weight, not the batch size', () => {
    const sum = tf.scalar(3)
    const p = one({ 'val/acc': { sum, weight: 5 } }, EVAL, 8)
    expect(p.source).toBe(sum)
    expect(p.weight).toBe(5)
    expect(p.isSum).toBe(true)
    expect(p.reduce).toBe('mean')
  })

  it('log() options override the defaults', () => {
    const p = one({ lr: log(0.1, { reduce: 'max', onStep: false, onEpoch: true, progBar: true, weight: 3 }) }, TRAIN, 8)
    expect(p).toMatchObject({ source: 0.1, reduce: 'max', onStep: false, onEpoch: true, progBar: true, weight: 3, isSum: false })
    // Options that are not given keep the stage defaults.
    expect(one({ x: log(1, { progBar: true }) }, EVAL)).toMatchObject({ onStep: false, onEpoch: true, progBar: true, reduce: 'mean', weight: 8 })
  })

  it('log() of a stat keeps the stat semantics', () => {
    const p = one({ acc: log({ sum: 2, weight: 4 }, { onStep: true, onEpoch: true }) }, EVAL, 8)
    expect(p).toMatchObject({ source: 2, weight: 4, isSum: true, onStep: true, onEpoch: true })
  })

  it('log() builds an entry', () => {
    expect(log(2, { reduce: 'sum' })).toEqual({ value: 2, reduce: 'sum' })
    expect(log(2)).toEqual({ value: 2 })
  })

  it('no logs give no pending logs; names keep their order', () => {
    expect(pendingLogs(undefined, TRAIN, 1)).toEqual([])
    expect(pendingLogs({ b: 1, a: 2 }, TRAIN, 1).map((p) => p.name)).toEqual(['b', 'a'])
  })
})

describe('readLog', () => {
  it('a scalar: the step value is the raw value; a mean accumulates value × weight', () => {
    const r = readLog(one({ loss: 0.5 }, TRAIN, 4), 0.5)
    expect(r.value).toBe(0.5)
    expect(r.accumulated).toEqual({ reduce: 'mean', value: 2, weight: 4 })
  })

  it('a stat: the step value is sum / weight; a mean accumulates the raw sum', () => {
    const r = readLog(one({ acc: { sum: 3, weight: 4 } }, EVAL, 99), 3)
    expect(r.value).toBe(0.75)
    expect(r.accumulated).toEqual({ reduce: 'mean', value: 3, weight: 4 })
  })

  it("a stat summed ('sum') adds its raw sums, e.g. total correct predictions", () => {
    const r = readLog(one({ correct: log({ sum: 3, weight: 4 }, { reduce: 'sum' }) }, EVAL, 99), 3)
    expect(r.value).toBe(0.75)
    expect(r.accumulated).toEqual({ reduce: 'sum', value: 3, weight: 4 })
  })

  it('sum / min / max of scalars accumulate the step value itself', () => {
    for (const reduce of ['sum', 'min', 'max'] as const) {
      const r = readLog(one({ v: log(2.5, { reduce }) }, EVAL, 4), 2.5)
      expect(r.value).toBe(2.5)
      expect(r.accumulated).toEqual({ reduce, value: 2.5, weight: 4 })
    }
  })
})

describe('epoch reduction', () => {
  // Two steps: value 10 on a batch of 1, value 2 on a batch of 3.
  it("'mean' is weighted by the batch size", () => {
    const e = epochOf([step('loss', 10, 1)], [step('loss', 2, 3)])
    expect(e.loss).toBeCloseTo((10 * 1 + 2 * 3) / 4, 10) // 4, not (10 + 2) / 2 = 6
  })

  it("'mean' of stats is the exact total over total weight", () => {
    const s1 = readLog(one({ acc: { sum: 1, weight: 1 } }, EVAL), 1)
    const s2 = readLog(one({ acc: { sum: 1, weight: 4 } }, EVAL), 1)
    expect(epochOf([s1], [s2]).acc).toBeCloseTo(2 / 5, 10)
  })

  it("'sum' adds the step values", () => {
    expect(epochOf([step('n', 10, 1, { reduce: 'sum' })], [step('n', 2, 3, { reduce: 'sum' })]).n).toBe(12)
  })

  it("'min' and 'max' take the extreme step value", () => {
    const steps = [5, -1, 7, 3]
    expect(epochOf(...steps.map((v, i) => [step('m', v, i + 1, { reduce: 'min' })])).m).toBe(-1)
    expect(epochOf(...steps.map((v, i) => [step('m', v, i + 1, { reduce: 'max' })])).m).toBe(7)
  })

  it('values logged only per step do not reach the epoch', () => {
    const e = epochOf([step('loss', 1, 1, {}, TRAIN), step('val', 2, 1)])
    expect(e).toEqual({ val: 2 })
  })

  it('addToEpoch is pure: the old accumulator is unchanged', () => {
    const first = addToEpoch(new Map(), [step('a', 1, 1)])
    const second = addToEpoch(first, [step('a', 3, 1)])
    expect(epochValues(first)).toEqual({ a: 1 })
    expect(epochValues(second)).toEqual({ a: 2 })
  })

  it('combine and resultOf: an empty mean is NaN', () => {
    expect(resultOf({ reduce: 'mean', value: 0, weight: 0 })).toBeNaN()
    expect(combine({ reduce: 'max', value: 1, weight: 2 }, { reduce: 'max', value: 4, weight: 3 })).toEqual({ reduce: 'max', value: 4, weight: 5 })
    expect(resultOf({ reduce: 'sum', value: 6, weight: 3 })).toBe(6)
    expect(resultOf({ reduce: 'mean', value: 6, weight: 3 })).toBe(2)
  })
})

describe('published names', () => {
  it('a value logged on both step and epoch becomes name_step and name_epoch', () => {
    const both = step('train/acc', 0.5, 2, { onStep: true, onEpoch: true }, TRAIN)
    const stepOnly = step('train/loss', 0.1, 2, {}, TRAIN)
    const epochOnly = step('val/loss', 0.2, 2)
    expect(publishedName(both.pending, 'step')).toBe('train/acc_step')
    expect(publishedName(both.pending, 'epoch')).toBe('train/acc_epoch')
    expect(publishedName(stepOnly.pending, 'step')).toBe('train/loss')
    expect(publishedName(epochOnly.pending, 'epoch')).toBe('val/loss')
    expect(stepValues([both, stepOnly, epochOnly])).toEqual({ 'train/acc_step': 0.5, 'train/loss': 0.1 })
    expect(epochOf([both, stepOnly, epochOnly])).toEqual({ 'train/acc_epoch': 0.5, 'val/loss': 0.2 })
  })

  it('progressBarNames lists progBar values of the level, by published name', () => {
    const logs = [
      step('train/loss', 1, 1, { progBar: true }, TRAIN),
      step('train/acc', 1, 1, { progBar: true, onEpoch: true }, TRAIN),
      step('train/lr', 1, 1, {}, TRAIN),
      step('val/acc', 1, 1, { progBar: true }),
    ]
    expect(progressBarNames(logs, 'step')).toEqual(['train/loss', 'train/acc_step'])
    expect(progressBarNames(logs, 'epoch')).toEqual(['train/acc_epoch', 'val/acc'])
  })
})
