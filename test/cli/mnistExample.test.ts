import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { RunResult } from '../../src/cli/runResult.js'
import { spec } from '../../examples/mnist-mlp/main.js'
import { train } from '../../examples/mnist-mlp/train.js'
import { root, rxtrain } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'rxtrain-mnist-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('examples/mnist-mlp/run.yaml', () => {
  it('trains as npm start does: the same checkpoints and the same test accuracy (on 1,200 digits, one epoch)', async () => {
    const runs = join(dir, 'config')
    const { status, err } = await rxtrain(
      ['fit', '--config', join(root, 'examples', 'mnist-mlp', 'run.yaml'), '--set', 'data.args.limit=1200', '--trainer.maxEpochs', '1', '--trainer.accelerator', 'cpu', '--runsDir', runs],
      root,
    )
    expect(err).toBe('')
    expect(status).toBe(0)
    const runDir = join(runs, 'mnist-mlp', 'version_0')
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult

    const npmStart = await train(spec, { epochs: 1, limit: 1200, accelerator: 'cpu', precision: '32-true', seed: 0, devices: 1, resume: undefined, runs: join(dir, 'npm') }, [])
    expect(npmStart.outcome).toBe('tested')
    expect(result.test?.['test/acc']).toBe(npmStart.accuracy)
    expect(readdirSync(join(runDir, 'checkpoints')).sort()).toEqual(readdirSync(join(npmStart.runDir as string, 'checkpoints')).sort())
    expect(readFileSync(join(runDir, 'metrics.csv'), 'utf8')).toBe(readFileSync(join(npmStart.runDir as string, 'metrics.csv'), 'utf8'))
  }, 120_000)
})
