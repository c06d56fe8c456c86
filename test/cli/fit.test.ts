import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import type { RunResult } from '../../src/cli/runResult.js'
import { interruptAtStep, rxtrain, testDeps, tinyConfig, write } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'rxtrain-fit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const resultOf = (runDir: string): RunResult => JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult
write(join(dir, 'run.yaml'), tinyConfig())
const first = join(dir, 'runs', 'tiny', 'version_0')

describe('rxtrain fit --config run.yaml', () => {
  it('trains in a new run folder with its resolved config, the hooks\' files, checkpoints and result.json, then tests the best checkpoint', async () => {
    const { status, out, err } = await rxtrain(['fit', '--config', 'run.yaml'], dir)
    expect(err).toBe('')
    expect(status).toBe(0)
    expect(out).toContain('run folder runs/tiny/version_0')
    expect(out).toMatch(/test \(best checkpoint\): test\/acc \d\.\d{4}\nfinished \(maxEpochs\) at epoch 3, step 12 after \d+\.\ds: runs\/tiny\/version_0$/)
    for (const f of ['config.yaml', 'metrics.csv', 'hparams.yaml', 'checkpoints/last.json', 'checkpoints/best.json']) expect(existsSync(join(first, f)), f).toBe(true)
    const result = resultOf(first)
    expect(result).toMatchObject({ status: 'finished', reason: 'maxEpochs', globalStep: 12, monitor: 'val/loss', backend: 'cpu', precision: '32-true' })
    expect(result.metrics['val/loss']).toBeTypeOf('number')
    expect(result.test?.['test/acc']).toBeGreaterThan(0.6)
    expect(result.best?.checkpoint).toMatch(/checkpoints\/epoch=\d-step=\d+$/)
    expect(existsSync(join(result.best?.checkpoint ?? '', 'manifest.json'))).toBe(true)
    // the best score is the lowest val/loss the CSV logged
    const rows = readFileSync(join(first, 'metrics.csv'), 'utf8').trim().split('\n')
    const column = (rows[0] as string).split(',').indexOf('val/loss')
    const losses = rows
      .slice(1)
      .map((r) => r.split(',')[column])
      .filter((v) => v !== undefined && v !== '')
      .map(Number)
    expect(result.best?.score).toBeCloseTo(Math.min(...losses), 6)
    expect(Date.parse(result.endedAt) - Date.parse(result.startedAt)).toBe(result.durationMs)
    expect(result.versions.tfjs).toBe('4.22.0')
    expect(result.versions.rxtrain).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('repeats the run from the saved config.yaml: a new folder, the same config, the same results', async () => {
    const { status } = await rxtrain(['fit', '--config', 'runs/tiny/version_0/config.yaml'], dir)
    expect(status).toBe(0)
    const second = join(dir, 'runs', 'tiny', 'version_1')
    expect(readFileSync(join(second, 'config.yaml'), 'utf8')).toBe(readFileSync(join(first, 'config.yaml'), 'utf8'))
    expect(resultOf(second).metrics).toEqual(resultOf(first).metrics)
    expect(resultOf(second).test).toEqual(resultOf(first).test)
  })

  it('stops on an interrupt with result.json saying so and exit status 130; --run-dir with ckptPath last resumes to the same results', async () => {
    const runDir = join(dir, 'stopped')
    const stopped = await rxtrain(['fit', '--config', 'run.yaml', '--run-dir', 'stopped'], dir, testDeps(interruptAtStep(5)))
    expect(stopped.status).toBe(130)
    expect(stopped.out).toContain('SIGINT received: stopped at step 5.')
    expect(stopped.out).toContain('Resume with: rxtrain fit --config stopped/config.yaml --run-dir stopped --set trainer.ckptPath=last')
    expect(resultOf(runDir)).toMatchObject({ status: 'interrupted', reason: 'interrupted', globalStep: 5 })
    expect(resultOf(runDir).test).toBeUndefined()
    expect(existsSync(join(runDir, 'checkpoints', 'last.json'))).toBe(true)

    const resumed = await rxtrain(['fit', '--config', 'stopped/config.yaml', '--run-dir', 'stopped', '--set', 'trainer.ckptPath=last'], dir)
    expect(resumed.err).toBe('')
    expect(resumed.status).toBe(0)
    const result = resultOf(runDir)
    expect(result).toMatchObject({ status: 'finished', reason: 'maxEpochs', globalStep: 12 })
    // interrupted and resumed = uninterrupted (same seed, same backend)
    expect(result.test).toEqual(resultOf(first).test)
    expect(result.metrics['val/loss']).toBe(resultOf(first).metrics['val/loss'])
    // the saved config is still the run's own, not the resume
    expect((YAML.parse(readFileSync(join(runDir, 'config.yaml'), 'utf8')) as { trainer: object }).trainer).not.toHaveProperty('ckptPath')
  })

  it('writes result.json with status failed when the run fails, and exits with 1', async () => {
    write(join(dir, 'failing.yaml'), tinyConfig().replace('test: { ckptPath: best }', 'test: { ckptPath: ./no/such/checkpoint }'))
    const { status, err } = await rxtrain(['fit', '--config', 'failing.yaml', '--run-dir', 'failing'], dir)
    expect(status).toBe(1)
    expect(err).toMatch(/^rxtrain fit: no checkpoint at .*no\/such\/checkpoint\nHow to fix: /)
    expect(resultOf(join(dir, 'failing'))).toMatchObject({ status: 'failed', reason: 'CheckpointError', globalStep: 12 })
  })
})
