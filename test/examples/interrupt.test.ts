import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
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

/**
 * Runs a command in its own process group, interrupting it with `signal` once its output matches
 * `when`; gives up (killing the whole group, so nothing is left training) after `limitMs`.
 * Resolves on 'close': the command and every process holding its output have exited.
 */
const interrupt = (
  command: string,
  argv: string[],
  when: RegExp,
  signal: NodeJS.Signals,
  limitMs = 60_000,
): Promise<{ code: number | null; out: string; msAfterSignal: number; timedOut: boolean }> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let out = ''
    let sentAt: number | undefined
    let timedOut = false
    const limit = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    }, limitMs)
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      if (sentAt === undefined && when.test(out)) {
        sentAt = Date.now()
        child.kill(signal)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(limit)
      resolve({ code, out, msAfterSignal: sentAt === undefined ? Number.NaN : Date.now() - sentAt, timedOut })
    })
  })

describe('SIGTERM while npm start is still starting up (loading data, before the first step)', () => {
  it('stops the run at once, says it was interrupted before the first step, and leaves nothing behind', async () => {
    const dir = join(runs, 'startup')
    // --epochs -1 trains until stopped: a SIGTERM that is lost would leave it training (the group is killed after the limit)
    const { code, out, msAfterSignal, timedOut } = await interrupt('npm', ['start', '--silent', '--', '--epochs', '-1', '--runs', dir], /loading MNIST/, 'SIGTERM')
    expect(timedOut).toBe(false)
    expect(out).toContain('SIGTERM received: interrupted before the first step')
    expect(out).not.toContain('stopped at step')
    expect(out).not.toContain('test accuracy')
    expect(code).not.toBe(0)
    // promptly: the data finishes loading, then the run ends (seconds, not an epoch)
    expect(msAfterSignal).toBeLessThan(15_000)
    // no run folder was claimed for a run that never started (or, if the signal came late, none holds a trained step)
    const versions = existsSync(dir) ? readdirSync(dir) : []
    for (const v of versions) {
      const loaded = await loadCheckpoint(nodeFileSystem, join(dir, v, 'checkpoints', 'last'))()
      if (E.isRight(loaded)) {
        expect(loaded.right.loop?.globalStep).toBe(0)
        disposeTree(loaded.right.state)
      }
    }
  }, 90_000)
})

describe('--epochs -1 (no limit, as Lightning’s max_epochs=-1)', () => {
  it('trains epoch after epoch until stopped, then saves and says how to resume', async () => {
    const dir = join(runs, 'unlimited')
    const mlp = [process.execPath, '--import', 'tsx', join(root, 'examples', 'mnist-mlp', 'main.ts')]
    const { code, out, timedOut } = await interrupt(mlp[0] as string, [...mlp.slice(1), '--limit', '1000', '--epochs', '-1', '--runs', dir], /epoch 3 · 4\/4 · .*val\/loss/, 'SIGINT')
    expect(timedOut).toBe(false)
    expect(code).toBe(130)
    expect(out).toMatch(/^epoch 1 · 4\/4 · /m)
    expect(out).toMatch(/SIGINT received: stopped at step \d+ and saved/)
    expect(out).toContain(`--epochs=-1 --runs ${dir} --resume ${join(dir, 'version_0')}`)
  }, 60_000)
})

describe('Ctrl-C during the CNN example', () => {
  it('shows progress, stops at the next step with a resumable last checkpoint and no test; resuming finishes and tests', async () => {
    const dir = join(runs, 'cnn')
    const flags = ['--limit', '1200', '--epochs', '2', '--runs', dir]
    const cnn = [process.execPath, '--import', 'tsx', join(root, 'examples', 'mnist-cnn', 'main.ts')]
    // Interrupt once the first epoch's line (10 batches, with its validation values) is out: the run is in epoch 2.
    const first = await interrupt(cnn[0] as string, [...cnn.slice(1), ...flags], /epoch 1\/2 · 10\/10 · .*val\/loss \d\.\d{4}/, 'SIGINT')
    expect(first.timedOut).toBe(false)
    expect(first.code).toBe(130)
    expect(first.out).toMatch(/SIGINT received: stopped at step \d+ and saved .*checkpoints\/last; no test of a half-trained model/)
    expect(first.out).not.toContain('test accuracy')
    const runDir = join(dir, 'version_0')
    expect(first.out).toContain(`Resume with: npm run example:cnn -- ${flags.join(' ')} --resume ${runDir}`)
    const loaded = await loadCheckpoint(nodeFileSystem, join(runDir, 'checkpoints', 'last'))()
    expect(E.isRight(loaded)).toBe(true)
    if (E.isRight(loaded)) {
      expect(loaded.right.loop?.globalStep).toBeGreaterThanOrEqual(10)
      disposeTree(loaded.right.state)
    }
    const resumed = await interrupt(cnn[0] as string, [...cnn.slice(1), ...flags, '--resume', 'last'], /(?!)/, 'SIGINT')
    expect(resumed.code).toBe(0)
    expect(resumed.out).toMatch(/epoch 2\/2 · 10\/10 · .*val\/loss/)
    expect(resumed.out).toMatch(/test accuracy 0\.\d{4}/)
  }, 120_000)
})
