import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { rxtrainCommandLine } from '../../src/effects/processes.js'

/*
 * The sweep with real processes: `rxtrain sweep` over test/fixtures/sweep (4 trials of a tiny
 * regression, 2 at a time, each `rxtrain fit` in its own process). The sweep is stopped with
 * SIGTERM once its first trial has finished (a long trial still running), then run again: the
 * finished trial is not repeated, the interrupted one resumes from its last checkpoint, and every
 * trial ends finished.
 */

const sweepFile = fileURLToPath(new URL('../fixtures/sweep/sweep.yaml', import.meta.url))
const cwd = mkdtempSync(join(tmpdir(), 'rxtrain-sweep-'))
const dir = join(cwd, 'runs', 'tiny-sweep')
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

const startSweep = () => {
  const { command, args, env } = rxtrainCommandLine()
  const child = spawn(command, [...args, 'sweep', '--config', sweepFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, output: () => output }
}

const result = (trial: string): { status: string; startedAt: string } | undefined => {
  const file = join(dir, trial, 'result.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { status: string; startedAt: string }) : undefined
}

const TRIALS = ['trial_0', 'trial_1', 'trial_2', 'trial_3']

describe('rxtrain sweep (child processes)', () => {
  it('stopped after its first trial and run again, finishes every trial without repeating the finished one', async () => {
    const first = startSweep()
    const deadline = Date.now() + 90_000
    while (result('trial_0')?.status !== 'finished') {
      if (Date.now() > deadline) throw new Error(`trial_0 did not finish:\n${first.output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const finished = readFileSync(join(dir, 'trial_0', 'result.json'), 'utf8')
    // trial_1 (600 epochs) still runs: stop the sweep as a scheduler would.
    expect(result('trial_1')).toBeUndefined()
    first.child.kill('SIGTERM')
    expect(await first.exited, first.output()).toBe(130)
    expect(first.output()).toContain('SIGTERM: stopping the running trials')
    expect(result('trial_1')?.status, first.output()).toBe('interrupted')
    expect(existsSync(join(dir, 'trial_1', 'checkpoints', 'last.json'))).toBe(true)
    expect(result('trial_3')).toBeUndefined()

    const second = startSweep()
    expect(await second.exited, second.output()).toBe(0)
    expect(second.output()).toContain('1 finished already')
    expect(second.output()).toMatch(/trial_1 resumed/)
    expect(second.output()).not.toMatch(/trial_0 (started|resumed)/)
    expect(readFileSync(join(dir, 'trial_0', 'result.json'), 'utf8')).toBe(finished)
    for (const t of TRIALS) expect(result(t)?.status, `${t}:\n${second.output()}`).toBe('finished')
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('trial,model.args.hidden,trainer.maxEpochs,val/loss,status,duration_s')
    expect(csv.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(TRIALS)
    expect(csv.slice(1).every((l) => l.includes(',finished,'))).toBe(true)
    expect(existsSync(join(dir, 'results.md'))).toBe(true)
    // the sweep's report: the table of every trial, then the best ones' curves overlaid
    const html = readFileSync(join(dir, 'report', 'report.html'), 'utf8')
    expect(html).toContain('rxtrain sweep report')
    for (const t of TRIALS) expect(html).toContain(`>${t}<`)
    expect(second.output()).toMatch(/sweep report: .*report\.html/)
  }, 240_000)
})
