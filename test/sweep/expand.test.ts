import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { drawValue, expandSweep, gridTrials, randomTrials } from '../../src/sweep/expand.js'
import { parseSweepSpec, type SweepSpec } from '../../src/sweep/sweepSpec.js'

const spec = (u: unknown): SweepSpec => {
  const parsed = parseSweepSpec(u)
  if (E.isLeft(parsed)) throw parsed.left
  return parsed.right
}

describe('grid expansion', () => {
  it('is the cartesian product, first parameter slowest, values in the order written', () => {
    const trials = gridTrials([
      ['model.args.hidden', { values: [64, 128] }],
      ['model.args.lr', { values: [0.1, 0.01, 0.001] }],
    ])
    expect(trials.map((t) => [t.id, t.values['model.args.hidden'], t.values['model.args.lr']])).toEqual([
      ['trial_0', 64, 0.1],
      ['trial_1', 64, 0.01],
      ['trial_2', 64, 0.001],
      ['trial_3', 128, 0.1],
      ['trial_4', 128, 0.01],
      ['trial_5', 128, 0.001],
    ])
  })

  it('keeps the parameters in the order of the sweep file', () => {
    const s = spec({ config: 'run.yaml', parameters: { 'trainer.maxEpochs': { values: [1, 2] }, 'model.args.hidden': { values: [8] } } })
    const [first] = expandSweep(s)
    expect(Object.keys(first?.values ?? {})).toEqual(['trainer.maxEpochs', 'model.args.hidden'])
    expect(expandSweep(s).map((t) => t.values)).toEqual([
      { 'trainer.maxEpochs': 1, 'model.args.hidden': 8 },
      { 'trainer.maxEpochs': 2, 'model.args.hidden': 8 },
    ])
  })
})

describe('random expansion', () => {
  const parameters = [
    ['model.args.lr', { distribution: 'log_uniform', min: 1e-4, max: 1e-1 }],
    ['model.args.dropout', { distribution: 'uniform', min: 0.1, max: 0.5 }],
    ['model.args.hidden', { distribution: 'int_uniform', min: 16, max: 20 }],
    ['model.args.act', { values: ['relu', 'tanh'] }],
  ] as const

  it('draws every value within its range, integers as integers, choices from the list', () => {
    const trials = randomTrials(parameters, 200, 7)
    for (const t of trials) {
      const lr = t.values['model.args.lr'] as number
      const dropout = t.values['model.args.dropout'] as number
      const hidden = t.values['model.args.hidden'] as number
      expect(lr).toBeGreaterThanOrEqual(1e-4)
      expect(lr).toBeLessThanOrEqual(1e-1)
      expect(dropout).toBeGreaterThanOrEqual(0.1)
      expect(dropout).toBeLessThan(0.5)
      expect(Number.isInteger(hidden) && hidden >= 16 && hidden <= 20).toBe(true)
      expect(['relu', 'tanh']).toContain(t.values['model.args.act'])
    }
    // Both ends of an integer range come up, and every choice.
    expect(new Set(trials.map((t) => t.values['model.args.hidden']))).toEqual(new Set([16, 17, 18, 19, 20]))
    expect(new Set(trials.map((t) => t.values['model.args.act']))).toEqual(new Set(['relu', 'tanh']))
  })

  it('spreads log-uniform draws evenly over the decades', () => {
    const lrs = randomTrials([parameters[0]], 600, 1).map((t) => t.values['model.args.lr'] as number)
    const perDecade = [1e-4, 1e-3, 1e-2].map((low) => lrs.filter((x) => x >= low && x < low * 10).length)
    // 200 expected in each of the three decades; a uniform draw would put ~90% in the last one.
    for (const n of perDecade) expect(n).toBeGreaterThan(140)
  })

  it('is a pure function of the seed, and more trials keep the ones already drawn', () => {
    expect(randomTrials(parameters, 5, 3)).toEqual(randomTrials(parameters, 5, 3))
    expect(randomTrials(parameters, 8, 3).slice(0, 5)).toEqual(randomTrials(parameters, 5, 3))
    expect(randomTrials(parameters, 5, 4)).not.toEqual(randomTrials(parameters, 5, 3))
  })

  it('maps a uniform draw to each distribution as computed by hand', () => {
    expect(drawValue({ distribution: 'log_uniform', min: 1e-4, max: 1e-2 }, 0.5)).toBeCloseTo(1e-3, 15)
    expect(drawValue({ distribution: 'log_uniform', min: 1e-4, max: 1e-2 }, 0)).toBe(1e-4)
    expect(drawValue({ distribution: 'uniform', min: 2, max: 4 }, 0.25)).toBe(2.5)
    expect(drawValue({ distribution: 'int_uniform', min: 1, max: 3 }, 0)).toBe(1)
    expect(drawValue({ distribution: 'int_uniform', min: 1, max: 3 }, 0.999999)).toBe(3)
    expect(drawValue({ distribution: 'int_uniform', min: 1, max: 3 }, 0.5)).toBe(2)
    expect(drawValue({ values: ['a', 'b', 'c', 'd'] }, 0.5)).toBe('c')
  })

  it('expands a random spec to `trials` trials', () => {
    const s = spec({ config: 'run.yaml', method: 'random', trials: 6, seed: 1, parameters: { 'model.args.lr': { distribution: 'log_uniform', min: 1e-4, max: 1e-2 } } })
    expect(expandSweep(s).map((t) => t.id)).toEqual(['trial_0', 'trial_1', 'trial_2', 'trial_3', 'trial_4', 'trial_5'])
  })
})
