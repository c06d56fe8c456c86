import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { readRun } from '../../src/report/readRun.js'
import { spec } from '../../examples/mnist-mlp/main.js'
import { train } from '../../examples/mnist-mlp/train.js'

const dir = mkdtempSync(join(tmpdir(), 'rxtrain-tuner-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('npm start -- --lr-find --scale-batch-size power', () => {
  it('finds a batch size and a learning rate, trains with them, and leaves the curve in the run folder for rxtrain report', async () => {
    const lines: string[] = []
    const log = console.log
    console.log = (...a: unknown[]) => void lines.push(a.join(' '))
    let result
    try {
      result = await train(spec, { epochs: 1, limit: 600, accelerator: 'wasm', precision: '32-true', seed: 0, devices: 1, resume: undefined, runs: dir, lrFind: true, scaleBatchSize: 'power' }, [])
    } finally {
      console.log = log
    }
    expect(result.outcome).toBe('tested')
    // 600 digits less the validation split: doubling from 2 stops at the first batch that holds them all
    expect(lines.join('\n')).toMatch(/batch size finder \(power\): tried 2, 4, 8, 16, 32, 64, 128, 256, 512\ntraining with batch size 512/)
    expect(lines.join('\n')).toMatch(/learning-rate finder: suggested learning rate \d/)
    const runDir = result.runDir as string
    const csv = readFileSync(join(runDir, 'lr_finder.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('lr,loss')
    expect(csv.length).toBeGreaterThan(10)
    const run = await readRun(nodeFileSystem, runDir)()
    expect(E.isRight(run) && run.right.lrFinder?.points.length).toBe(csv.length - 1)
    expect(E.isRight(run) && run.right.lrFinder?.suggestion).toBeGreaterThan(0)
  }, 120_000)
})
