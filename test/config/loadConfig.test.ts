import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { loadRunConfig, type ConfigOverride } from '../../src/config/loadConfig.js'
import { fileImporter, importFile } from '../../src/effects/importFile.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import type { RxtrainError } from '../../src/errors/rxtrainError.js'

const dir = mkdtempSync(join(tmpdir(), 'rxtrain-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string): string => {
  const path = join(dir, name)
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, text)
  return path
}
const load = (files: string[], overrides: ConfigOverride[] = [], importer = importFile) => loadRunConfig({ files, overrides, cwd: dir, fs: nodeFileSystem, importFile: importer })
const set = (path: string, text: string): ConfigOverride => ({ flag: `--set ${path}=${text}`, path, text })
const issuesOf = (e: RxtrainError) => e.details.issues as { path: string; message: string; where?: string }[]

describe('loading config files', () => {
  it('merges files in order, each module path relative to its own file, and sets overrides (relative to the working directory)', async () => {
    const base = file('base/run.yaml', 'name: base\nmodel: { module: ./model.ts, export: mlp, args: { hidden: 256, lr: 0.001 } }\ndata: { module: ./data.ts }\ntrainer: { maxEpochs: 3, seed: 1 }\nhooks: [modelSummary, progressBar]\n')
    const more = file('more/small.yaml', 'model: { args: { hidden: 32 } }\ndata: { module: ./other.ts }\ntrainer: { maxEpochs: 1 }\nhooks: [csvLogger]\n')
    const r = await load(['base/run.yaml', more], [set('trainer.seed', '7'), { flag: '--model.args.lr 0.01', path: 'model.args.lr', text: '0.01' }, set('model.module', './here.ts'), set('hooks[0]', '{ checkpoint: { monitor: val/loss } }')])
    if (E.isLeft(r)) throw r.left
    expect(base).toContain(dir)
    expect(r.right.name).toBe('base')
    expect(r.right.model).toEqual({ module: join(dir, 'here.ts'), export: 'mlp', args: { hidden: 32, lr: 0.01 } })
    expect(r.right.data).toEqual({ module: join(dir, 'more', 'other.ts'), export: 'default' })
    expect(r.right.trainer).toMatchObject({ maxEpochs: 1, seed: 7 })
    expect(r.right.hooks).toEqual([{ checkpoint: { monitor: 'val/loss' } }])
  })

  it('reports all five mistakes of a file in one error, in line order, each with its path, value, line and did-you-mean', async () => {
    const bad = file(
      'bad.yaml',
      [
        'model: { module: ./m.ts, exprt: mlp }', // 1: misspelt key
        'data: { module: ./d.ts }',
        'trainer:',
        '  maxEpochs: -5', // 4: out of range
        '  precision: half', // 5: not a precision
        'hooks:',
        '  - modelSummary',
        '  - earlyStopping: { monitor: val/loss, patience: -3 }', // 8: out of range
        '  - tensorbord', // 9: misspelt hook
      ].join('\n'),
    )
    const r = await load([bad])
    expect(E.isLeft(r)).toBe(true)
    if (E.isRight(r)) return
    expect(r.left.tag).toBe('ConfigError')
    expect(issuesOf(r.left)).toEqual([
      { path: 'model.exprt', message: "is not a known option; did you mean 'export'?", where: 'bad.yaml:1' },
      { path: 'trainer.maxEpochs', message: 'must be an integer >= -1, got -5', where: 'bad.yaml:4' },
      { path: 'trainer.precision', message: expect.stringContaining("'half'"), where: 'bad.yaml:5' },
      { path: 'hooks[1].earlyStopping.patience', message: 'must be an integer >= 0, got -3', where: 'bad.yaml:8' },
      { path: 'hooks[2]', message: expect.stringContaining("did you mean 'tensorboard'?"), where: 'bad.yaml:9' },
    ])
    expect(r.left.problem).toMatch(/^the config bad\.yaml has 5 errors:\n {2}- model\.exprt is not a known option; did you mean 'export'\? \(bad\.yaml:1\)\n/)
  })

  it('says which override gave a bad value, and why a path cannot be set', async () => {
    const ok = file('ok.yaml', 'model: { module: ./m.ts }\ndata: { module: ./d.ts }\nhooks: [modelSummary]\n')
    const r = await load([ok], [set('trainer.maxEpochs', 'many'), set('hooks[0].modelSummary.maxDepth', '2'), set('a..b', '1')])
    if (E.isRight(r)) throw new Error('accepted')
    expect(issuesOf(r.left)).toEqual([
      { path: 'hooks[0].modelSummary.maxDepth', message: "cannot be set: hooks[0] is \"modelSummary\", not an object, so it has no key 'modelSummary'", where: '--set hooks[0].modelSummary.maxDepth=2' },
      { path: '', message: expect.stringContaining("'a..b' is not a path"), where: '--set a..b=1' },
      { path: 'trainer.maxEpochs', message: "has the wrong type: 'many'; it must be an integer >= -1", where: '--set trainer.maxEpochs=many' },
    ])
  })

  it('names the line of a YAML syntax error, and a missing file', async () => {
    const broken = file('broken.yaml', 'model: { module: ./m.ts }\ntrainer:\n  maxEpochs: 3\n maxSteps: 4\n')
    const r = await load([broken])
    expect(E.isLeft(r) && r.left.problem).toMatch(/^broken\.yaml: is not valid YAML \(line 4: /)
    const missing = await load(['nowhere.yaml'])
    expect(E.isLeft(missing) && missing.left.problem).toBe('nowhere.yaml: no such config file')
  })

  it('loads a TypeScript config: the default export of defineConfig, its module paths relative to it', async () => {
    const define = join(fileURLToPath(new URL('../../src/config/defineConfig.ts', import.meta.url)))
    const ts = file(
      'ts/rxtrain.config.ts',
      `import { defineConfig } from ${JSON.stringify(define)}\nexport default defineConfig({ name: 'typed', model: { module: './model.ts', export: 'mlp' }, data: { module: './data.ts' }, trainer: { maxEpochs: 2, precision: 'bf16' }, hooks: ['progressBar'] })\n`,
    )
    const r = await load([ts], [set('trainer.seed', '3')])
    if (E.isLeft(r)) throw r.left
    expect(r.right).toMatchObject({ name: 'typed', model: { module: join(dir, 'ts', 'model.ts') }, trainer: { maxEpochs: 2, precision: 'bf16-mixed', seed: 3 }, hooks: ['progressBar'] })
  })

  it('names tsx when a TypeScript file is to be loaded and tsx is not installed', async () => {
    const ts = file('tsx/rxtrain.config.ts', 'export default {}\n')
    const r = await load([ts], [], fileImporter({ loads: () => false, register: async () => false }))
    expect(E.isLeft(r)).toBe(true)
    if (E.isRight(r)) return
    expect(r.left.problem).toContain('needs tsx, which is not installed')
    expect(r.left.remedy).toContain('npm install --save-dev tsx')
  })
})
