import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunResult } from '../../src/cli/runResult.js'
import { fixtures, root, rxtrain, tinyConfig, write } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'rxtrain-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
write(join(dir, 'run.yaml'), tinyConfig())

describe('rxtrain and its help', () => {
  it('lists the commands; each has --help; an unknown command or flag is a usage error with a did-you-mean', async () => {
    const top = await rxtrain(['--help'], dir)
    expect(top.status).toBe(0)
    for (const name of ['fit', 'validate', 'test', 'predict', 'print-config', 'sweep', 'report']) expect(top.out).toMatch(new RegExp(`^  ${name} `, 'm'))
    for (const name of ['fit', 'validate', 'test', 'predict', 'print-config']) {
      const help = await rxtrain([name, '--help'], dir)
      expect(help.status, name).toBe(0)
      expect(help.out, name).toMatch(new RegExp(`^Usage: rxtrain ${name} --config`))
    }
    expect(await rxtrain(['fitt'], dir)).toMatchObject({ status: 2, err: "rxtrain: unknown command 'fitt': did you mean 'fit'? (rxtrain --help lists them)" })
    expect(await rxtrain(['fit', '--confg', 'run.yaml'], dir)).toMatchObject({ status: 2, err: 'rxtrain fit: unknown flag --confg: did you mean --config? (rxtrain fit --help lists the flags)' })
    expect(await rxtrain(['fit', 'run.yaml'], dir)).toMatchObject({ status: 2, err: "rxtrain fit: unexpected argument 'run.yaml': name a config with --config run.yaml (rxtrain fit --help lists the flags)" })
    expect((await rxtrain(['fit'], dir)).status).toBe(2)
  })
})

describe('a config with mistakes', () => {
  it('reports all five, each with its path and line, in one run, with exit status 2 and no stack trace', async () => {
    write(
      join(dir, 'five.yaml'),
      [
        'name: five',
        `model: { module: ${join(fixtures, 'tinyModel.ts')}, export: classifier, arg: { hidden: 8 } }`,
        `data: { module: ${join(fixtures, 'tinyData.ts')}, export: points4 }`,
        'trainer: { maxEpochs: 0.5, acelerator: cpu }',
        'hooks:',
        '  - checkpoint: { monitor: val/loss, saveTopK: two }',
        '  - earlyStopping: { monitor: val/loss, patience: -1 }',
      ].join('\n'),
    )
    const { status, out, err } = await rxtrain(['fit', '--config', 'five.yaml'], dir)
    expect(status).toBe(2)
    expect(out).toBe('')
    expect(err.split('\n')).toEqual([
      'rxtrain fit: the config five.yaml has 5 errors:',
      "  - model.arg is not a known option; did you mean 'args'? (five.yaml:2)",
      'trainer.maxEpochs must be an integer >= -1, got 0.5 (five.yaml:4)'.replace(/^/, '  - '),
      "  - trainer.acelerator is not a known option; did you mean 'accelerator'? (five.yaml:4)",
      "  - hooks[0].checkpoint.saveTopK has the wrong type: 'two'; it must be an integer >= -1 (five.yaml:6)",
      '  - hooks[1].earlyStopping.patience must be an integer >= 0, got -1 (five.yaml:7)',
      expect.stringMatching(/^How to fix: /),
    ])
    expect(existsSync(join(dir, 'runs', 'five'))).toBe(false)
    // the README shows this very output
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    for (const line of err.split('\n').slice(0, 6)) expect(readme).toContain(line)
  })

  it('names a misspelt export with a did-you-mean, before any run folder is made', async () => {
    const { status, err } = await rxtrain(['fit', '--config', 'run.yaml', '--model.export', 'clasifier', '--name', 'misspelt'], dir)
    expect(status).toBe(2)
    expect(err).toContain(`rxtrain fit: model.export: ${join(fixtures, 'tinyModel.ts')} has no export 'clasifier'\nHow to fix: did you mean 'classifier'?`)
    expect(existsSync(join(dir, 'runs', 'misspelt'))).toBe(false)
  })

  it('says when an export that is a module is given args', async () => {
    const { status, err } = await rxtrain(['fit', '--config', 'run.yaml', '--model.export', 'fixed'], dir)
    expect(status).toBe(2)
    expect(err).toContain("model.args: 'fixed' is a Module itself, not a function, so it takes no args")
  })
})

describe('rxtrain print-config', () => {
  it('prints the resolved config, and its output given back as --config prints the same', async () => {
    const first = await rxtrain(['print-config', '--config', 'run.yaml', '--trainer.maxEpochs', '7', '--set', 'model.args.hidden=16'], dir)
    expect(first.status).toBe(0)
    expect(first.out).toContain('maxEpochs: 7')
    expect(first.out).toContain('hidden: 16')
    expect(first.out).toContain(`module: ${join(fixtures, 'tinyModel.ts')}`)
    write(join(dir, 'elsewhere', 'printed.yaml'), first.out)
    const second = await rxtrain(['print-config', '--config', 'elsewhere/printed.yaml'], dir)
    expect(second).toEqual(first)
  })
})

describe('a TypeScript config', () => {
  it('trains from rxtrain.config.ts (defineConfig, paths relative to it) as from YAML', async () => {
    write(
      join(dir, 'typed', 'rxtrain.config.ts'),
      [
        `import { defineConfig } from ${JSON.stringify(join(root, 'src', 'index.js'))}`,
        'export default defineConfig({',
        "  name: 'typed',",
        `  model: { module: ${JSON.stringify(`./${'../'.repeat(0)}model.ts`)}, export: 'classifier', args: { hidden: 4 } },`,
        `  data: { module: ${JSON.stringify(join(fixtures, 'tinyData.ts'))}, export: 'points4', args: { size: 64 } },`,
        "  trainer: { maxEpochs: 1, accelerator: 'cpu', numSanityValSteps: 0 },",
        "  hooks: [{ checkpoint: { saveLast: true } }],",
        '})',
      ].join('\n'),
    )
    write(join(dir, 'typed', 'model.ts'), `export { classifier } from ${JSON.stringify(join(fixtures, 'tinyModel.js'))}\n`)
    const { status, err } = await rxtrain(['fit', '--config', 'typed/rxtrain.config.ts'], dir)
    expect(err).toBe('')
    expect(status).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'runs', 'typed', 'version_0', 'result.json'), 'utf8')) as RunResult
    expect(result).toMatchObject({ status: 'finished', globalStep: 2 })
    expect(readFileSync(join(dir, 'runs', 'typed', 'version_0', 'config.yaml'), 'utf8')).toContain(`module: ${join(dir, 'typed', 'model.ts')}`)
  })
})

describe('rxtrain validate, test and predict', () => {
  const runDir = join(dir, 'runs', 'tiny', 'version_0')
  beforeAll(async () => {
    const { status, err } = await rxtrain(['fit', '--config', 'run.yaml'], dir)
    if (status !== 0) throw new Error(err)
  })

  it("evaluate a run's best checkpoint from its config.yaml, as the fit's own test did", async () => {
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult
    const tested = await rxtrain(['test', '--config', 'runs/tiny/version_0/config.yaml'], dir)
    expect(tested.err).toBe('')
    expect(tested).toMatchObject({ status: 0, out: `test (runs/tiny/version_0, best): test/acc ${(result.test?.['test/acc'] as number).toFixed(4)}` })
    const validated = await rxtrain(['validate', '--config', 'run.yaml', '--ckpt-path', 'runs/tiny/version_0/checkpoints/best'], dir)
    expect(validated.status).toBe(0)
    expect(validated.out).toMatch(/^validate \(runs\/tiny\/version_0\/checkpoints\/best\): val\/acc \d\.\d{4} · val\/loss \d\.\d{4}$/)
    expect(validated.out).toContain(`val/loss ${(result.best?.score as number).toFixed(4)}`)
  })

  it('need to be told which weights, and say so', async () => {
    expect(await rxtrain(['test', '--config', 'run.yaml'], dir)).toMatchObject({ status: 2, err: expect.stringContaining('which weights? name a checkpoint with --ckpt-path PATH') })
    expect(await rxtrain(['test', '--config', 'run.yaml', '--ckpt-path', 'best'], dir)).toMatchObject({ status: 2, err: expect.stringContaining("--ckpt-path best is the run folder's best checkpoint: name the folder with --run-dir DIR") })
  })

  it("predict writes the outputs of the run's checkpoint as JSON", async () => {
    const { status, out } = await rxtrain(['predict', '--config', 'run.yaml', '--run-dir', 'runs/tiny/version_0', '--ckpt-path', 'last'], dir)
    expect(status).toBe(0)
    expect(out).toBe('predict: 32 predictions of shape [2] written to runs/tiny/version_0/predictions.json')
    const written = JSON.parse(readFileSync(join(runDir, 'predictions.json'), 'utf8')) as { shape: number[]; predictions: number[][] }
    expect(written.shape).toEqual([32, 2])
    expect(written.predictions).toHaveLength(32)
    expect(written.predictions[0]).toHaveLength(2)
  })
})
