import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { RxtrainError } from '../../src/errors/rxtrainError.js'
import { parseTrainerOptions, type TrainerOptions } from '../../src/pipeline/options.js'
import {
  canStopEarly,
  isOptimizerStepBatch,
  isValidationEpoch,
  isValidationPoint,
  limitBatches,
  type LoopPlan,
  planFit,
} from '../../src/pipeline/plan.js'

const plan = (options: TrainerOptions, T: number | undefined, V: number | undefined = 2, hasValidation = true): LoopPlan => {
  const o = parseTrainerOptions(options)
  if (E.isLeft(o)) throw o.left
  const p = planFit(o.right, { trainBatches: T, valBatches: V, hasValidation })
  if (E.isLeft(p)) throw p.left
  return p.right
}

const planError = (options: TrainerOptions, T: number | undefined, V: number | undefined): RxtrainError<'ConfigError'> => {
  const o = parseTrainerOptions(options)
  if (E.isLeft(o)) throw o.left
  const p = planFit(o.right, { trainBatches: T, valBatches: V, hasValidation: true })
  if (E.isRight(p)) throw new Error(`expected a ConfigError, got ${JSON.stringify(p.right)}`)
  expect(p.left.tag).toBe('ConfigError')
  return p.left
}

/**
 * Runs the schedule on paper: training batches, optimizer steps and validation points, as the
 * loop reads them from the plan (validation after a batch's step; a maxSteps stop after it).
 */
const simulate = (p: LoopPlan, epochCap = 10) => {
  let globalStep = 0
  let batches = 0
  let total = 0
  const validations: string[] = []
  const steps: string[] = []
  for (let epoch = 0; epoch < Math.min(p.maxEpochs, epochCap); epoch++) {
    for (let b = 0; b < p.numTrainBatches; b++) {
      const last = b === p.numTrainBatches - 1
      batches++
      if (isOptimizerStepBatch(p, b, last)) {
        globalStep++
        steps.push(`${epoch}:${b}`)
      }
      if (isValidationPoint(p, epoch, b, total, last)) validations.push(`${epoch}:${b}`)
      total++
      if (globalStep >= p.maxSteps) return { batches, globalStep, validations, steps }
    }
  }
  return { batches, globalStep, validations, steps }
}

describe('limitBatches', () => {
  it('a count caps the available batches', () => {
    expect(limitBatches(10, 3, 'limitTrainBatches')).toEqual(E.right(3))
    expect(limitBatches(10, 30, 'limitTrainBatches')).toEqual(E.right(10))
    expect(limitBatches(10, 0, 'limitTrainBatches')).toEqual(E.right(0))
    expect(limitBatches(undefined, 4, 'limitTrainBatches')).toEqual(E.right(4))
  })

  it('a fraction takes floor(n × f); 1 takes all, 0 none', () => {
    expect(limitBatches(10, 0.25, 'limitTrainBatches')).toEqual(E.right(2))
    expect(limitBatches(10, { fraction: 0.99 }, 'limitTrainBatches')).toEqual(E.right(9))
    expect(limitBatches(7, { fraction: 0.5 }, 'limitTrainBatches')).toEqual(E.right(3))
    expect(limitBatches(10, { fraction: 1 }, 'limitTrainBatches')).toEqual(E.right(10))
    expect(limitBatches(10, { fraction: 0 }, 'limitTrainBatches')).toEqual(E.right(0))
    expect(limitBatches(undefined, { fraction: 1 }, 'limitTrainBatches')).toEqual(E.right(Number.POSITIVE_INFINITY))
  })

  it('a fraction that gives less than one batch is a ConfigError naming the option', () => {
    const r = limitBatches(10, 0.05, 'limitValBatches')
    if (E.isRight(r)) throw new Error('expected an error')
    expect(r.left.tag).toBe('ConfigError')
    expect(r.left.details).toMatchObject({ field: 'limitValBatches' })
    expect(r.left.problem).toContain('limitValBatches')
    expect(r.left.remedy).toContain('0.1')
  })

  it('a fraction of a source of unknown length is a ConfigError', () => {
    const r = limitBatches(undefined, 0.5, 'limitTrainBatches')
    if (E.isRight(r)) throw new Error('expected an error')
    expect(r.left.tag).toBe('ConfigError')
    expect(r.left.remedy).toMatch(/numBatches|count/)
  })
})

describe('planFit: the worked examples of LIGHTNING-SEMANTICS.md', () => {
  it.each<[string, TrainerOptions, number, number, { batches: number; globalStep: number; validations: string[]; sanity: number; numVal: number }]>([
    ['defaults', { maxEpochs: 1 }, 10, 4, { batches: 10, globalStep: 10, validations: ['0:9'], sanity: 2, numVal: 4 }],
    ['valCheckInterval=3', { maxEpochs: 1, valCheckInterval: 3 }, 10, 2, { batches: 10, globalStep: 10, validations: ['0:2', '0:5', '0:8'], sanity: 2, numVal: 2 }],
    ['valCheckInterval=0.5', { maxEpochs: 1, valCheckInterval: 0.5 }, 10, 2, { batches: 10, globalStep: 10, validations: ['0:4', '0:9'], sanity: 2, numVal: 2 }],
    ['checkValEveryNEpoch=2', { maxEpochs: 3, checkValEveryNEpoch: 2 }, 5, 2, { batches: 15, globalStep: 15, validations: ['1:4'], sanity: 2, numVal: 2 }],
    ['limitTrainBatches=3', { maxEpochs: 2, limitTrainBatches: 3 }, 10, 2, { batches: 6, globalStep: 6, validations: ['0:2', '1:2'], sanity: 2, numVal: 2 }],
    ['limitValBatches=0', { maxEpochs: 2, limitValBatches: 0 }, 10, 4, { batches: 20, globalStep: 20, validations: [], sanity: 0, numVal: 0 }],
    ['numSanityValSteps=-1', { maxEpochs: 1, numSanityValSteps: -1 }, 4, 4, { batches: 4, globalStep: 4, validations: ['0:3'], sanity: 4, numVal: 4 }],
    ['maxSteps=6', { maxSteps: 6, valCheckInterval: 3 }, 10, 2, { batches: 6, globalStep: 6, validations: ['0:2', '0:5'], sanity: 2, numVal: 2 }],
    ['accumulateGradBatches=3', { maxEpochs: 1, accumulateGradBatches: 3 }, 10, 2, { batches: 10, globalStep: 4, validations: ['0:9'], sanity: 2, numVal: 2 }],
    ['fastDevRun=5', { fastDevRun: 5 }, 10, 8, { batches: 5, globalStep: 5, validations: ['0:4'], sanity: 0, numVal: 5 }],
  ])('%s', (_, options, T, V, want) => {
    const p = plan(options, T, V)
    const run = simulate(p)
    expect(run.batches).toBe(want.batches)
    expect(run.globalStep).toBe(want.globalStep)
    expect(run.validations).toEqual(want.validations)
    expect(p.numSanityBatches).toBe(want.sanity)
    expect(p.numValBatches).toBe(want.numVal)
  })

  it('with accumulation the optimizer steps after batches 2, 5, 8 and the last, 9', () => {
    expect(simulate(plan({ maxEpochs: 1, accumulateGradBatches: 3 }, 10)).steps).toEqual(['0:2', '0:5', '0:8', '0:9'])
  })
})

describe('planFit: limits and validation interval', () => {
  it('counts cap and fractions floor, for training and validation', () => {
    expect(plan({ limitTrainBatches: 4, limitValBatches: 10 }, 10, 3)).toMatchObject({ numTrainBatches: 4, numValBatches: 3 })
    expect(plan({ limitTrainBatches: 0.35, limitValBatches: { fraction: 0.5 } }, 10, 5)).toMatchObject({ numTrainBatches: 3, numValBatches: 2 })
  })

  it('a fraction giving less than one batch is a ConfigError', () => {
    expect(planError({ limitTrainBatches: 0.05 }, 10, 2).details).toMatchObject({ field: 'limitTrainBatches' })
    expect(planError({ limitValBatches: 0.1 }, 10, 5).details).toMatchObject({ field: 'limitValBatches' })
  })

  it('a source of unknown length: fractions are a ConfigError, counts and the whole are fine', () => {
    expect(planError({ limitTrainBatches: 0.5 }, undefined, 2).details).toMatchObject({ field: 'limitTrainBatches' })
    expect(planError({ limitValBatches: 0.5 }, 10, undefined).details).toMatchObject({ field: 'limitValBatches' })
    expect(planError({ valCheckInterval: 0.5 }, undefined, 2).details).toMatchObject({ field: 'valCheckInterval' })
    expect(plan({ limitTrainBatches: 5 }, undefined).numTrainBatches).toBe(5)
    const whole = plan({}, undefined)
    expect(whole.numTrainBatches).toBe(Number.POSITIVE_INFINITY)
    expect(whole.valCheckBatch).toBe(Number.POSITIVE_INFINITY)
    expect(plan({ valCheckInterval: 50 }, undefined).valCheckBatch).toBe(50)
  })

  it('an integer valCheckInterval larger than the epoch is a ConfigError unless checkValEveryNEpoch is null', () => {
    const e = planError({ valCheckInterval: 11 }, 10, 2)
    expect(e.details).toMatchObject({ field: 'valCheckInterval' })
    expect(e.remedy).toContain('checkValEveryNEpoch: null')
    expect(plan({ valCheckInterval: 10 }, 10).valCheckBatch).toBe(10)
    expect(plan({ valCheckInterval: 11, checkValEveryNEpoch: null }, 10).valCheckBatch).toBe(11)
    // Compared with the LIMITED epoch.
    planError({ valCheckInterval: 5, limitTrainBatches: 4 }, 10, 2)
  })

  it('checkValEveryNEpoch null counts the interval across epochs', () => {
    const p = plan({ maxEpochs: 3, valCheckInterval: 4, checkValEveryNEpoch: null }, 3)
    expect(simulate(p).validations).toEqual(['1:0', '2:1'])
  })

  it('a fractional interval validates at least every batch', () => {
    expect(plan({ valCheckInterval: 0.01 }, 10).valCheckBatch).toBe(1)
  })

  it('no validation: no val batches, no sanity check, no validation points', () => {
    const p = plan({ maxEpochs: 1, valCheckInterval: 3 }, 10, 5, false)
    expect(p).toMatchObject({ numValBatches: 0, numSanityBatches: 0, valCheckBatch: Number.POSITIVE_INFINITY })
    expect(simulate(p).validations).toEqual([])
    // An interval too large does not matter when nothing validates.
    expect(plan({ valCheckInterval: 99, limitValBatches: 0 }, 10).numValBatches).toBe(0)
  })

  it('numSanityValSteps is capped by the validation batches', () => {
    expect(plan({ numSanityValSteps: 5 }, 10, 3).numSanityBatches).toBe(3)
    expect(plan({ numSanityValSteps: 0 }, 10, 3).numSanityBatches).toBe(0)
  })
})

describe('planFit: epochs and steps', () => {
  it('maxEpochs defaults to 1000, or no limit when maxSteps is set; -1 means no limit', () => {
    expect(plan({}, 10)).toMatchObject({ maxEpochs: 1000, maxSteps: Number.POSITIVE_INFINITY })
    expect(plan({ maxSteps: 30 }, 10)).toMatchObject({ maxEpochs: Number.POSITIVE_INFINITY, maxSteps: 30 })
    expect(plan({ maxEpochs: -1 }, 10).maxEpochs).toBe(Number.POSITIVE_INFINITY)
    expect(plan({ maxEpochs: 4, maxSteps: 30 }, 10)).toMatchObject({ maxEpochs: 4, maxSteps: 30 })
  })

  it('estimatedSteppingBatches = min(maxSteps, ceil(T / k) × maxEpochs)', () => {
    expect(plan({ maxEpochs: 2 }, 10).estimatedSteppingBatches).toBe(20)
    expect(plan({ maxEpochs: 2, accumulateGradBatches: 3 }, 10).estimatedSteppingBatches).toBe(8)
    expect(plan({ maxEpochs: 2, accumulateGradBatches: 3, maxSteps: 5 }, 10).estimatedSteppingBatches).toBe(5)
    expect(plan({ maxSteps: 25 }, 10).estimatedSteppingBatches).toBe(25)
    expect(plan({}, 10).estimatedSteppingBatches).toBe(10_000)
    expect(plan({ maxEpochs: 0 }, 10).estimatedSteppingBatches).toBe(10)
    expect(plan({ maxEpochs: -1 }, 10).estimatedSteppingBatches).toBe(Number.POSITIVE_INFINITY)
    expect(plan({ maxEpochs: -1, limitTrainBatches: 0 }, 10).estimatedSteppingBatches).toBe(0)
  })

  it('passes through the other options the loop reads', () => {
    const p = plan({ minEpochs: 2, minSteps: 7, accumulateGradBatches: 2, logEveryNSteps: 5, seed: 9 }, 10)
    expect(p).toMatchObject({ minEpochs: 2, minSteps: 7, accumulateGradBatches: 2, logEveryNSteps: 5, seed: 9, noShuffle: false, fastDevRun: false })
  })
})

describe('planFit: debugging overrides', () => {
  it('fastDevRun: true is one batch of each stage, one epoch, one step, no sanity check', () => {
    const p = plan({ fastDevRun: true, maxEpochs: 5, numSanityValSteps: 4, limitTrainBatches: 8 }, 10, 6)
    expect(p).toMatchObject({ numTrainBatches: 1, numValBatches: 1, maxEpochs: 1, maxSteps: 1, numSanityBatches: 0, fastDevRun: true, valCheckBatch: 1 })
    expect(simulate(p)).toMatchObject({ batches: 1, globalStep: 1, validations: ['0:0'] })
  })

  it('fastDevRun n overrides limits and the validation interval', () => {
    const p = plan({ fastDevRun: 3, valCheckInterval: 7, checkValEveryNEpoch: 2 }, 10, 8)
    expect(p).toMatchObject({ numTrainBatches: 3, numValBatches: 3, valCheckBatch: 3, checkValEveryNEpoch: 1, estimatedSteppingBatches: 3 })
    expect(plan({ fastDevRun: 3 }, 2, 1)).toMatchObject({ numTrainBatches: 2, numValBatches: 1 })
  })

  it('overfitBatches n trains on the first n batches unshuffled and validates on n val batches', () => {
    const p = plan({ overfitBatches: 3, limitTrainBatches: 8 }, 10, 5)
    expect(p).toMatchObject({ numTrainBatches: 3, numValBatches: 3, noShuffle: true, fastDevRun: false })
    expect(plan({ overfitBatches: { fraction: 0.5 } }, 10, 4)).toMatchObject({ numTrainBatches: 5, numValBatches: 2, noShuffle: true })
    expect(plan({ overfitBatches: 0 }, 10).noShuffle).toBe(false)
  })

  it('fastDevRun n with overfitBatches keeps the overfit batch limits: n steps on the first overfit batches, unshuffled', () => {
    // Lightning's _init_debugging_flags: fast_dev_run sets the train/val limits only when overfit_batches is 0.
    const p = plan({ fastDevRun: 5, overfitBatches: 3 }, 10, 8)
    expect(p).toMatchObject({ numTrainBatches: 3, numValBatches: 3, maxEpochs: 1, maxSteps: 5, numSanityBatches: 0, noShuffle: true, fastDevRun: true })
    expect(simulate(p)).toMatchObject({ batches: 3, globalStep: 3, validations: ['0:2'] })
    // n below the overfit batches: the n steps end the run before the epoch's validation point.
    const short = plan({ fastDevRun: 2, overfitBatches: 5 }, 10, 8)
    expect(short).toMatchObject({ numTrainBatches: 5, numValBatches: 5, maxSteps: 2, noShuffle: true })
    expect(simulate(short)).toMatchObject({ batches: 2, globalStep: 2, validations: [] })
  })
})

describe("planFit: Lightning's limit rules", () => {
  /** Where a stop requested from the first batch on is honoured: checked after each batch, then at each epoch end. */
  const stopHonoured = (p: LoopPlan): string | undefined => {
    let globalStep = 0
    for (let epoch = 0; epoch < Math.min(p.maxEpochs, 10); epoch++) {
      for (let b = 0; b < p.numTrainBatches; b++) {
        globalStep++
        if (canStopEarly(p, epoch, globalStep)) return `${epoch}:${b}`
      }
      if (canStopEarly(p, epoch + 1, globalStep)) return `end of epoch ${epoch}`
    }
    return undefined
  }

  it('minSteps without minEpochs makes minEpochs 1: T=5, minSteps=2, a stop requested all along ends epoch 0, not at step 2', () => {
    // Lightning's _parse_loop_limits: min_epochs = 1 when min_steps is given and min_epochs is not.
    const p = plan({ maxEpochs: 5, minSteps: 2 }, 5)
    expect(p).toMatchObject({ minEpochs: 1, minSteps: 2 })
    expect(stopHonoured(p)).toBe('end of epoch 0')
    // An explicit minEpochs is kept; without minSteps the default stays 0.
    const explicit = plan({ maxEpochs: 5, minSteps: 2, minEpochs: 0 }, 5)
    expect(explicit.minEpochs).toBe(0)
    expect(stopHonoured(explicit)).toBe('0:1')
    expect(plan({ maxEpochs: 5, minSteps: 2, minEpochs: 3 }, 5).minEpochs).toBe(3)
    expect(plan({ maxEpochs: 5 }, 5).minEpochs).toBe(0)
    expect(stopHonoured(plan({ maxEpochs: 5 }, 5))).toBe('0:0')
  })

  it('valCheckInterval { fraction: 0 } validates after every batch: T=4, V=2, maxEpochs=1 → 0:0, 0:1, 0:2, 0:3', () => {
    const p = plan({ maxEpochs: 1, valCheckInterval: { fraction: 0 } }, 4, 2)
    expect(p.valCheckBatch).toBe(1)
    expect(simulate(p)).toMatchObject({ batches: 4, globalStep: 4, validations: ['0:0', '0:1', '0:2', '0:3'] })
    // The integer 0 stays an error (Lightning divides by it).
    const zero = parseTrainerOptions({ valCheckInterval: 0 })
    expect(E.isLeft(zero) && zero.left.details).toMatchObject({ field: 'valCheckInterval' })
  })

  it.each<[string, TrainerOptions['valCheckInterval']]>([
    ['0.5', 0.5],
    ['{ fraction: 0.5 }', { fraction: 0.5 }],
    ['{ fraction: 1 }', { fraction: 1 }],
  ])('a fractional valCheckInterval (%s) with checkValEveryNEpoch: null is a ConfigError', (_, valCheckInterval) => {
    const r = parseTrainerOptions({ valCheckInterval, checkValEveryNEpoch: null })
    if (E.isRight(r)) throw new Error('expected a ConfigError')
    expect(r.left.tag).toBe('ConfigError')
    expect(r.left.details).toMatchObject({ field: 'valCheckInterval' })
    expect(r.left.problem).toContain('checkValEveryNEpoch is null')
    expect(r.left.remedy).toContain('integer batch count')
  })

  it('checkValEveryNEpoch: null with an integer valCheckInterval, or none given, counts batches across epochs', () => {
    // T=3, maxEpochs=3: every 4 batches (1:0, 2:1); with no interval given, every epoch's worth of batches (3).
    expect(simulate(plan({ maxEpochs: 3, valCheckInterval: 4, checkValEveryNEpoch: null }, 3)).validations).toEqual(['1:0', '2:1'])
    expect(simulate(plan({ maxEpochs: 3, checkValEveryNEpoch: null }, 3)).validations).toEqual(['0:2', '1:2', '2:2'])
  })
})

describe('schedule predicates on hand cases', () => {
  const base = plan({ maxEpochs: 4, valCheckInterval: 3 }, 10, 2)

  it('isValidationPoint: every valCheckBatch batches of a validation epoch', () => {
    const points = Array.from({ length: 10 }, (_, b) => isValidationPoint(base, 0, b, b, b === 9))
    expect(points.map((v, b) => (v ? b : -1)).filter((b) => b >= 0)).toEqual([2, 5, 8])
    // Positions count within the epoch, not across epochs.
    expect(isValidationPoint(base, 1, 2, 12, false)).toBe(true)
    expect(isValidationPoint(base, 1, 1, 11, false)).toBe(false)
  })

  it('isValidationPoint: an end-of-epoch interval validates only on the last batch', () => {
    const p = { ...base, valCheckBatch: Number.POSITIVE_INFINITY }
    expect(isValidationPoint(p, 0, 8, 8, false)).toBe(false)
    expect(isValidationPoint(p, 0, 9, 9, true)).toBe(true)
  })

  it('isValidationPoint: never when the epoch does not validate or validation is off', () => {
    const everyOther = { ...base, checkValEveryNEpoch: 2 }
    expect(isValidationEpoch(everyOther, 0)).toBe(false)
    expect(isValidationEpoch(everyOther, 1)).toBe(true)
    expect(isValidationPoint(everyOther, 0, 2, 2, false)).toBe(false)
    expect(isValidationPoint(everyOther, 1, 2, 12, false)).toBe(true)
    const off = { ...base, numValBatches: 0 }
    expect(isValidationEpoch(off, 0)).toBe(false)
    expect(isValidationPoint(off, 0, 2, 2, false)).toBe(false)
    expect(isValidationEpoch({ ...base, checkValEveryNEpoch: null }, 5)).toBe(true)
  })

  it('isValidationPoint with checkValEveryNEpoch null uses the total batch index', () => {
    const across = { ...base, checkValEveryNEpoch: null, valCheckBatch: 4 }
    expect(isValidationPoint(across, 1, 2, 3, false)).toBe(true)
    expect(isValidationPoint(across, 1, 3, 4, false)).toBe(false)
  })

  it('isOptimizerStepBatch: every k-th batch and the last', () => {
    const p = { ...base, accumulateGradBatches: 4 }
    const steps = Array.from({ length: 10 }, (_, b) => isOptimizerStepBatch(p, b, b === 9))
    expect(steps.map((v, b) => (v ? b : -1)).filter((b) => b >= 0)).toEqual([3, 7, 9])
    expect(Array.from({ length: 3 }, (_, b) => isOptimizerStepBatch(base, b, false))).toEqual([true, true, true])
  })

  it('canStopEarly waits for both minEpochs and minSteps', () => {
    const p = { ...base, minEpochs: 2, minSteps: 5 }
    expect(canStopEarly(p, 1, 10)).toBe(false)
    expect(canStopEarly(p, 2, 4)).toBe(false)
    expect(canStopEarly(p, 2, 5)).toBe(true)
    expect(canStopEarly(p, 3, 50)).toBe(true)
    expect(canStopEarly(base, 0, 0)).toBe(true)
  })
})
