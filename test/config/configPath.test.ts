import { describe, expect, it } from 'vitest'
import { formatConfigPath, parseConfigPath } from '../../src/config/configPath.js'
import { mergeConfigs, setConfigValue } from '../../src/config/merge.js'

describe('config paths', () => {
  it('read dotted keys and list indexes in both spellings, and print them back', () => {
    expect(parseConfigPath('hooks[1].earlyStopping.patience')).toEqual(['hooks', 1, 'earlyStopping', 'patience'])
    expect(parseConfigPath('hooks.1.earlyStopping.patience')).toEqual(['hooks', 1, 'earlyStopping', 'patience'])
    expect(parseConfigPath('checkpoint.monitor')).toEqual(['checkpoint', 'monitor'])
    expect(formatConfigPath(['hooks', 1, 'earlyStopping', 'patience'])).toBe('hooks[1].earlyStopping.patience')
  })

  it('refuse malformed paths', () => {
    for (const bad of ['', 'a..b', 'a.', 'hooks[x]', 'hooks[1', '.a']) expect(parseConfigPath(bad), bad).toBeUndefined()
  })
})

describe('merging config layers', () => {
  it('merges objects key by key and replaces lists and values, leaving the inputs alone', () => {
    const base = { trainer: { maxEpochs: 3, seed: 0 }, hooks: ['modelSummary', 'progressBar'], model: { module: 'a', args: { hidden: 256, lr: 1e-3 } } }
    const over = { trainer: { maxEpochs: 5 }, hooks: ['csvLogger'], model: { args: { hidden: 128 } } }
    expect(mergeConfigs(base, over)).toEqual({ trainer: { maxEpochs: 5, seed: 0 }, hooks: ['csvLogger'], model: { module: 'a', args: { hidden: 128, lr: 1e-3 } } })
    expect(base.trainer.maxEpochs).toBe(3)
  })

  it('sets a path, creating objects on the way and indexing into lists', () => {
    const config = { hooks: ['modelSummary', { checkpoint: { monitor: 'val/loss' } }] }
    expect(setConfigValue(config, ['trainer', 'maxEpochs'], 5)).toEqual({ ok: { ...config, trainer: { maxEpochs: 5 } } })
    expect(setConfigValue(config, ['hooks', 1, 'checkpoint', 'monitor'], 'val/acc')).toEqual({ ok: { hooks: ['modelSummary', { checkpoint: { monitor: 'val/acc' } }] } })
    expect(config.hooks[1]).toEqual({ checkpoint: { monitor: 'val/loss' } })
  })

  it('says why a path cannot be set', () => {
    const config = { hooks: ['modelSummary'], trainer: { maxEpochs: 3 } }
    expect(setConfigValue(config, ['hooks', 0, 'modelSummary', 'maxDepth'], 2)).toEqual({ problem: "hooks[0] is \"modelSummary\", not an object, so it has no key 'modelSummary'" })
    expect(setConfigValue(config, ['hooks', 3], 'csvLogger')).toEqual({ problem: 'hooks has 1 entries, so [3] is past its end' })
    expect(setConfigValue(config, ['trainer', 0], 1)).toEqual({ problem: 'trainer is {"maxEpochs":3}, not a list, so it has no entry [0]' })
  })
})
