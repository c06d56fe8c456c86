/**
 * Issue 16 point 8: a file that defines the module DDP workers import and also calls `fit` at its
 * top level made every worker train again, with workers of its own: threads and memory grew
 * without bound and the process never ended. Now `fit` in a worker fails at once, and the run
 * that started the worker fails with that error and exits.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ddpTopLevelFit.ts')
/** Far above the ~2 s the refused run takes; before the fix it was still growing then. */
const limitMs = 30_000

const runFixture = (mode: 'await' | 'subscribe'): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string; ms: number }> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RXTRAIN_FIXTURE_MODE: mode } })
    let stdout = ''
    let stderr = ''
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, limitMs)
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, killed, stdout, stderr, ms: Date.now() - started })
    })
  })

describe('fit in a DDP worker (a module file that calls fit at its top level)', () => {
  for (const mode of ['await', 'subscribe'] as const)
    it(`fails the run at once with a ConfigError that says to move the module, and exits (${mode === 'await' ? 'top-level await' : 'subscribe with an error handler'})`, async () => {
      const r = await runFixture(mode)
      expect(r.killed, `still running after ${limitMs} ms (the workers re-entered training)`).toBe(false)
      expect(r.code).toBe(1)
      expect(r.stdout).not.toContain('trained')
      // The main thread's run fails with the worker's error, by name and with its remedy.
      expect(r.stderr).toContain('ConfigError: in worker 1: fit was called while the worker imported the module')
      expect(r.stderr).toContain('move the module (defineModule with its `source`) into a file without side effects')
    }, limitMs + 20_000)
})
