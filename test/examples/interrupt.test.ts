import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { disposeTree } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const runs = mkdtempSync(join(tmpdir(), 'rxtrain-sigint-'))
beforeAll(async () => {
  await useBackend('cpu')
})
afterAll(() => rmSync(runs, { recursive: true, force: true }))

/** Runs `npm start`'s command (node --import tsx examples/mnist-mlp/main.ts) with extra flags. */
const start = (flags: string[], interruptAfterStepLine?: RegExp): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', 'mnist-mlp', 'main.ts'), ...flags], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let sent = false
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      if (interruptAfterStepLine !== undefined && !sent && interruptAfterStepLine.test(out)) {
        sent = true
        child.kill('SIGINT')
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, out }))
  })

describe('Ctrl-C during npm start', () => {
  it('stops at the next step, leaves a resumable last checkpoint, says how to resume; resuming finishes the run', async () => {
    const flags = ['--limit', '24000', '--epochs', '2', '--runs', runs]
    // Interrupt in the middle of the first epoch (progress lines come every 50 steps when not a TTY).
    const first = await start(flags, /epoch 1\/2 · 50\/149/)
    expect(first.code).toBe(130)
    const runDir = join(runs, 'version_0')
    expect(first.out).toContain(`SIGINT received: stopped at step`)
    // the resume command repeats the run's flags
    expect(first.out).toContain(`Resume with: npm start -- ${flags.join(' ')} --resume ${runDir}`)
    const loaded = await loadCheckpoint(nodeFileSystem, join(runDir, 'checkpoints', 'last'))()
    expect(E.isRight(loaded)).toBe(true)
    if (E.isRight(loaded)) {
      expect(loaded.right.loop?.phase).toBe('afterStep')
      expect(loaded.right.loop?.globalStep).toBeGreaterThanOrEqual(50)
      disposeTree(loaded.right.state)
    }
    const resumed = await start([...flags, '--resume', runDir])
    expect(resumed.code).toBe(0)
    expect(resumed.out).toMatch(/test accuracy 0\.\d{4} \(best checkpoint/)
    // the log has every row once: none repeated across the interruption (a validation row and its
    // epoch's training row share a step, as in Lightning, but not their values)
    const rows = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1)
    expect(rows.length).toBeGreaterThan(4)
    expect(new Set(rows).size).toBe(rows.length)
  }, 120_000)
})

describe('SIGTERM to the npm process running npm start (docker stop, Kubernetes, timeout)', () => {
  it('reaches the trainer (the script execs node), which stops at the next step with a resumable last checkpoint', async () => {
    const dir = join(runs, 'sigterm')
    const flags = ['--limit', '24000', '--epochs', '2', '--runs', dir]
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const npm = spawn('npm', ['start', '--silent', '--', ...flags], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
      let text = ''
      let sent = false
      const onData = (chunk: Buffer): void => {
        text += chunk.toString()
        if (!sent && /epoch 1\/2 · 50\/149/.test(text)) {
          sent = true
          npm.kill('SIGTERM')
        }
      }
      npm.stdout.on('data', onData)
      npm.stderr.on('data', onData)
      npm.on('error', reject)
      // 'close': npm has exited and every process holding its output (the trainer) has too
      npm.on('close', (c) => resolve({ code: c, out: text }))
    })
    // Without exec, npm exits at once and the trainer, orphaned, trains on to the end unasked.
    expect(out).toContain('SIGTERM received: stopped at step')
    expect(out).not.toContain('test accuracy')
    expect(code).not.toBe(0)
    const loaded = await loadCheckpoint(nodeFileSystem, join(dir, 'version_0', 'checkpoints', 'last'))()
    expect(E.isRight(loaded)).toBe(true)
    if (E.isRight(loaded)) disposeTree(loaded.right.state)
  }, 120_000)
})
