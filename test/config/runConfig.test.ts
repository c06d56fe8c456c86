import * as E from 'fp-ts/lib/Either.js'
import YAML from 'yaml'
import { describe, expect, it } from 'vitest'
import { formatIssue } from '../../src/config/configErrors.js'
import { formatConfigPath } from '../../src/config/configPath.js'
import { resolveRunConfig, runConfigYaml } from '../../src/config/runConfig.js'

const valid = {
  name: 'mlp',
  model: { module: '/abs/model.ts', export: 'mlp', args: { hidden: 64 } },
  data: { module: '/abs/data.ts', export: 'digits' },
  trainer: { maxEpochs: 2, precision: 16, fastDevRun: false },
  hooks: ['modelSummary', { checkpoint: { monitor: 'val/loss', saveLast: true } }, { earlyStopping: { monitor: 'val/loss', patience: 2 } }],
  test: { ckptPath: 'best' },
}

const issues = (raw: unknown): string[] => {
  const r = resolveRunConfig(raw)
  return E.isLeft(r) ? r.left.map(formatIssue) : []
}

describe('the run config', () => {
  it('resolves a valid config: defaults filled in, aliases normalised, hooks kept in order', () => {
    const r = resolveRunConfig(valid)
    expect(E.isRight(r)).toBe(true)
    if (E.isLeft(r)) return
    expect(r.right.name).toBe('mlp')
    expect(r.right.runsDir).toBe('runs')
    expect(r.right.data).toEqual({ module: '/abs/data.ts', export: 'digits' })
    expect(r.right.trainer).toMatchObject({ maxEpochs: 2, precision: '16-mixed', fastDevRun: 0, seed: 0, accelerator: 'auto' })
    expect(r.right.trainer).not.toHaveProperty('defaultRootDir')
    expect(r.right.hooks).toEqual(valid.hooks)
    expect(r.right.test).toEqual({ ckptPath: 'best' })
  })

  it('names the default export when none is given', () => {
    const r = resolveRunConfig({ model: { module: './m.ts' }, data: { module: './d.ts' } })
    expect(E.isRight(r) && r.right.model.export).toBe('default')
  })

  it('reports every mistake at once, each with its path, the rule and the value given, and a did-you-mean for misspelt keys', () => {
    const found = issues({
      ...valid,
      modle: {},
      trainer: { maxEpoch: 3, precision: 'half', limitValBatches: -2 },
      hooks: ['modelSummary', { earlyStopping: { monitor: 'val/loss', patience: -3 } }, 'tensorbord'],
    })
    expect(found).toEqual([
      "modle is not a known option; did you mean 'model'?",
      "trainer.maxEpoch is not a known option; did you mean 'maxEpochs'?",
      'trainer.limitValBatches must be a batch count >= 0 or a fraction in [0, 1] (a number below 1, or { fraction }), got -2',
      expect.stringMatching(/^trainer\.precision has the wrong type: 'half'; it must be one of '32-true'/),
      'hooks[1].earlyStopping.patience must be an integer >= 0, got -3',
      expect.stringMatching(/^hooks\[2\] .*'tensorbord'.*did you mean 'tensorboard'\?/),
    ])
  })

  it('says what a missing required section must be', () => {
    expect(issues({ data: valid.data })).toEqual(['model is required: an object of module, export, args'])
  })

  it('refuses the run folder as a trainer option (rxtrain fit owns it) and rules between options', () => {
    expect(issues({ ...valid, trainer: { defaultRootDir: 'somewhere' } })).toEqual([expect.stringMatching(/^trainer\.defaultRootDir is set by rxtrain to the run folder/)])
    expect(issues({ ...valid, trainer: { checkValEveryNEpoch: null, valCheckInterval: 0.5 } })).toEqual([expect.stringMatching(/^trainer\.valCheckInterval must be a batch count when checkValEveryNEpoch is null/)])
  })

  it('prints as YAML that resolves to the same config (print-config round-trips)', () => {
    const r = resolveRunConfig(valid)
    if (E.isLeft(r)) throw new Error(r.left.map(formatIssue).join('\n'))
    const text = runConfigYaml(r.right)
    expect(text).not.toContain('*') // no YAML aliases for repeated values
    const again = resolveRunConfig(YAML.parse(text))
    expect(again).toEqual(E.right(r.right))
    expect(E.isRight(again) && runConfigYaml(again.right)).toBe(text)
  })

  it('formats paths as users write them', () => {
    expect(formatConfigPath(['trainer', 'maxEpochs'])).toBe('trainer.maxEpochs')
  })
})
