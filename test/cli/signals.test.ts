import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { RunResult } from '../../src/cli/runResult.js'
import { root, tinyConfig, write } from './support.js'

/** tsx's loader, by URL: the child runs in a folder outside the repository, where `--import tsx` would not resolve. */
const tsx = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href
const dir = mkdtempSync(join(tmpdir(), 'rxtrain-signal-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `npm run rxtrain -- <args>`'s command, in `dir`; sends `signal` once the output matches `when`. */
const rxtrain = (args: string[], when?: RegExp, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } })
    let out = ''
    let sent = false
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      if (when !== undefined && !sent && when.test(out)) {
        sent = true
        child.kill(signal)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, out }))
  })

describe('a signal to rxtrain fit (a real process)', () => {
  it('SIGTERM stops the run at the next step: last saved, result.json interrupted, the resume command printed, exit status 130', async () => {
    // A run that only a signal ends, with a progress line every step to wait for.
    write(join(dir, 'run.yaml'), tinyConfig('').replace('maxEpochs: 3', 'maxEpochs: -1').replace('  - csvLogger', '  - csvLogger\n  - progressBar: { everyNSteps: 1 }'))
    const { code, out } = await rxtrain(['fit', '--config', 'run.yaml', '--run-dir', 'run'], /epoch 2 · 2\//, 'SIGTERM')
    expect(out).toContain('SIGTERM received: stopped at step')
    expect(code).toBe(130)
    expect(out).toContain('Resume with: rxtrain fit --config run/config.yaml --run-dir run --set trainer.ckptPath=last')
    const result = JSON.parse(readFileSync(join(dir, 'run', 'result.json'), 'utf8')) as RunResult
    expect(result).toMatchObject({ status: 'interrupted', reason: 'interrupted' })
    expect(result.globalStep).toBeGreaterThanOrEqual(6)
    expect(existsSync(join(dir, 'run', 'checkpoints', 'last.json'))).toBe(true)
    expect(out).not.toMatch(/^\s+at /m)
  }, 60_000)
})
