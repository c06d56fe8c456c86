import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { RxtrainError } from '../../src/errors/rxtrainError.js'
import { defaultOptions, parseTrainerOptions, type ResolvedOptions, suggestOption } from '../../src/pipeline/options.js'

const parsed = (input: unknown): ResolvedOptions => {
  const r = parseTrainerOptions(input)
  if (E.isLeft(r)) throw r.left
  return r.right
}

const rejected = (input: unknown): RxtrainError<'ConfigError'> => {
  const r = parseTrainerOptions(input)
  if (E.isRight(r)) throw new Error(`expected a ConfigError for ${JSON.stringify(input)}`)
  expect(r.left.tag).toBe('ConfigError')
  expect(r.left.remedy.length).toBeGreaterThan(0)
  return r.left
}

describe('parseTrainerOptions: defaults', () => {
  it('an empty object gives Lightning’s defaults', () => {
    const o = parsed({})
    expect(o).toEqual(defaultOptions)
    expect(o).toMatchObject({
      maxEpochs: undefined,
      maxSteps: -1,
      minEpochs: 0,
      minSteps: 0,
      limitTrainBatches: { fraction: 1 },
      limitValBatches: { fraction: 1 },
      valCheckInterval: { fraction: 1 },
      checkValEveryNEpoch: 1,
      numSanityValSteps: 2,
      accumulateGradBatches: 1,
      gradientClipVal: undefined,
      gradientClipAlgorithm: 'norm',
      fastDevRun: 0,
      overfitBatches: 0,
      seed: 0,
      logEveryNSteps: 50,
      accelerator: 'auto',
      precision: '32-true',
    })
  })

  it('given options replace the defaults; undefined values keep them; null checkValEveryNEpoch is kept', () => {
    const o = parsed({ maxEpochs: 3, seed: 42, limitValBatches: 0.5, checkValEveryNEpoch: null, logEveryNSteps: undefined })
    expect(o.maxEpochs).toBe(3)
    expect(o.seed).toBe(42)
    expect(o.limitValBatches).toBe(0.5)
    expect(o.checkValEveryNEpoch).toBeNull()
    expect(o.logEveryNSteps).toBe(50)
    expect(o.limitTrainBatches).toEqual({ fraction: 1 })
  })

  it('fastDevRun: true → 1, false → 0, n → n', () => {
    expect(parsed({ fastDevRun: true }).fastDevRun).toBe(1)
    expect(parsed({ fastDevRun: false }).fastDevRun).toBe(0)
    expect(parsed({ fastDevRun: 7 }).fastDevRun).toBe(7)
  })

  it('is not an object → ConfigError', () => {
    for (const bad of [null, 3, 'maxEpochs=3', [1, 2]]) rejected(bad)
  })
})

describe('parseTrainerOptions: unknown options', () => {
  it.each([
    ['maxEpoch', 'maxEpochs'],
    ['valCheckIntervl', 'valCheckInterval'],
    ['max_epochs', 'maxEpochs'],
    ['MaxSteps', 'maxSteps'],
    ['limitTrainBatch', 'limitTrainBatches'],
    ['accumulate_grad_batches', 'accumulateGradBatches'],
  ])('%s → did you mean %s?', (typo, near) => {
    const e = rejected({ maxEpochs: 2, [typo]: 1 })
    expect(e.problem).toContain(`'${typo}'`)
    expect(e.remedy).toContain(`'${near}'`)
    expect(e.details).toMatchObject({ field: typo })
    expect(suggestOption(typo)).toBe(near)
  })

  it('a name near nothing lists the known options', () => {
    const e = rejected({ banana: 1 })
    expect(e.remedy).toContain('maxEpochs')
    expect(e.remedy).toContain('valCheckInterval')
    expect(suggestOption('banana')).toBeUndefined()
  })

  it('an unknown option is rejected even when its value is undefined', () => {
    rejected({ maxEpoch: undefined })
  })
})

describe('parseTrainerOptions: types', () => {
  it.each([
    ['maxEpochs', '3'],
    ['limitTrainBatches', 'all'],
    ['limitValBatches', { frac: 0.5 }],
    ['fastDevRun', 'yes'],
    ['checkValEveryNEpoch', '2'],
    ['gradientClipAlgorithm', 'l2'],
    ['accelerator', 'tpu'],
    ['precision', 'fp8'],
    ['lossScaler', { initScale: 'big' }],
    ['seed', null],
  ])('%s = %j has the wrong type', (field, value) => {
    const e = rejected({ [field]: value })
    expect(e.details).toMatchObject({ field })
    expect(e.problem).toContain(field)
    expect(e.problem).toMatch(/wrong type/)
  })
})

describe('parseTrainerOptions: ranges', () => {
  it.each([
    ['maxEpochs', -2],
    ['maxEpochs', 2.5],
    ['maxEpochs', Number.NaN],
    ['maxSteps', -5],
    ['minEpochs', -1],
    ['minSteps', 1.5],
    ['accumulateGradBatches', 1.5],
    ['accumulateGradBatches', 0],
    ['valCheckInterval', 0],
    ['valCheckInterval', { fraction: 0 }],
    ['valCheckInterval', 1.5],
    ['valCheckInterval', -3],
    ['limitTrainBatches', 1.5],
    ['limitTrainBatches', { fraction: 1.01 }],
    ['limitValBatches', -1],
    ['limitTestBatches', { fraction: -0.5 }],
    ['limitPredictBatches', -0.5],
    ['overfitBatches', 2.5],
    ['checkValEveryNEpoch', 0],
    ['numSanityValSteps', -2],
    ['gradientClipVal', -1],
    ['gradientClipVal', Number.POSITIVE_INFINITY],
    ['fastDevRun', -1],
    ['fastDevRun', 0.5],
    ['seed', 1.5],
    ['seed', 2 ** 60],
    ['logEveryNSteps', 0],
  ])('%s = %s is out of range', (field, value) => {
    const e = rejected({ [field]: value })
    expect(e.details).toMatchObject({ field })
    expect(e.problem).toContain(`option ${field} must be`)
  })

  it('valCheckInterval 0 explains how to disable validation instead', () => {
    expect(rejected({ valCheckInterval: 0 }).problem).toContain('limitValBatches: 0')
  })

  it.each<[string, unknown]>([
    ['maxEpochs', -1],
    ['maxEpochs', 0],
    ['maxSteps', -1],
    ['numSanityValSteps', -1],
    ['limitTrainBatches', 0],
    ['limitTrainBatches', 0.5],
    ['limitTrainBatches', { fraction: 0 }],
    ['limitTrainBatches', { fraction: 1 }],
    ['limitTrainBatches', 100],
    ['valCheckInterval', 0.25],
    ['valCheckInterval', 1],
    ['overfitBatches', 0.1],
    ['checkValEveryNEpoch', null],
    ['gradientClipVal', 0],
    ['seed', -7],
  ])('%s = %j is accepted', (field, value) => {
    expect(parsed({ [field]: value })[field as keyof ResolvedOptions]).toEqual(value)
  })
})
