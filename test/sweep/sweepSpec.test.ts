import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { parseSweepSpec, sweepSpecIssues, SweepSpecCodec } from '../../src/sweep/sweepSpec.js'

const paths = (u: unknown): string[] => sweepSpecIssues(u).map((i) => i.path)

describe('sweep spec', () => {
  it('fills in the defaults', () => {
    const parsed = parseSweepSpec({ config: 'run.yaml', parameters: { 'model.args.lr': { values: [0.1, 0.01] } } })
    expect(parsed).toEqual(
      E.right({
        config: ['run.yaml'],
        name: undefined,
        runsDir: undefined,
        method: 'grid',
        trials: undefined,
        seed: 0,
        parallel: 1,
        monitor: undefined,
        mode: 'min',
        set: [],
        parameters: [['model.args.lr', { values: [0.1, 0.01] }]],
      }),
    )
  })

  it('accepts a full random spec, and the codec agrees', () => {
    const spec = {
      config: ['base.yaml', 'small.yaml'],
      name: 'lr-search',
      method: 'random',
      trials: 6,
      seed: 3,
      parallel: 2,
      monitor: 'val/acc',
      mode: 'max',
      set: { 'trainer.limitTrainBatches': 20 },
      parameters: { 'model.args.lr': { distribution: 'log_uniform', min: 1e-4, max: 1e-2 }, 'model.args.hidden': { values: [32, 64] } },
    }
    expect(sweepSpecIssues(spec)).toEqual([])
    expect(E.isRight(SweepSpecCodec.decode(spec))).toBe(true)
    expect(E.isRight(parseSweepSpec(spec))).toBe(true)
  })

  it('reports every mistake at once, each at its path, with the value given', () => {
    const bad = {
      config: 'run.yaml',
      method: 'grid',
      paralel: 2,
      mode: 'minimum',
      parameters: {
        'model.args.lr': { distribution: 'log_uniform', min: 0, max: 1e-2 },
        'model.args.hidden': { values: [] },
        'trainer.maxEpochs': { valeus: [1, 2] },
      },
    }
    expect(paths(bad)).toEqual([
      'paralel',
      'mode',
      'parameters["model.args.lr"].min',
      'parameters["model.args.lr"].distribution',
      'parameters["model.args.hidden"].values',
      'parameters["trainer.maxEpochs"].valeus',
      'parameters["trainer.maxEpochs"]',
    ])
    const parsed = parseSweepSpec(bad, 'sweep.yaml')
    expect(E.isLeft(parsed)).toBe(true)
    if (E.isRight(parsed)) return
    const { problem, remedy, tag } = parsed.left
    expect(tag).toBe('ConfigError')
    expect(problem).toContain('sweep.yaml has 7 mistakes')
    expect(problem).toContain(`mode: expected 'min' or 'max', got 'minimum'`)
    expect(problem).toContain('parameters["model.args.lr"].min: expected a number > 0 (a log-uniform range lies above 0), got 0')
    expect(problem).toContain('parameters["model.args.hidden"].values: expected a non-empty list, got []')
    expect(remedy).toContain(`paralel: did you mean 'parallel'?`)
    expect(remedy).toContain(`parameters["trainer.maxEpochs"].valeus: did you mean 'values'?`)
    expect(remedy).toContain('set method: random')
  })

  it('requires config, parameters, and trials for a random search; rejects trials on a grid', () => {
    expect(paths({ method: 'random' })).toEqual(['config', 'trials', 'parameters'])
    expect(paths({ config: 'r.yaml', trials: 3, parameters: { a: { values: [1] } } })).toEqual(['trials'])
    expect(paths('nope')).toEqual(['sweep'])
  })

  it('checks ranges: min <= max, integers for int_uniform, a known distribution, a well-formed path', () => {
    const range = (p: unknown) => paths({ config: 'r.yaml', method: 'random', trials: 2, parameters: { 'a.b': p } })
    expect(range({ distribution: 'uniform', min: 2, max: 1 })).toEqual(['parameters["a.b"].max'])
    expect(range({ distribution: 'int_uniform', min: 1.5, max: 3 })).toEqual(['parameters["a.b"].min'])
    expect(range({ distribution: 'normal', min: 0, max: 1 })).toEqual(['parameters["a.b"].distribution'])
    expect(range({ distribution: 'uniform', min: '0', max: 1 })).toEqual(['parameters["a.b"].min'])
    expect(range({ values: [1], distribution: 'uniform' })).toEqual(['parameters["a.b"].distribution'])
    expect(range(5)).toEqual(['parameters["a.b"]'])
    expect(paths({ config: 'r.yaml', parameters: { 'a..b': { values: [1] } } })).toEqual(['parameters["a..b"]'])
    expect(paths({ config: 'r.yaml', set: { 'a[': 1 }, parameters: { a: { values: [1] } } })).toEqual(['set["a["]'])
  })
})
