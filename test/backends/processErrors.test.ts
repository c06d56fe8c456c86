import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Emscripten's glue (the wasm backend) adds process listeners for uncaught errors that rethrow
// from inside the handler: every later uncaught error then printed ~38 KB of minified glue and
// exited with code 7. A backend's start-up must leave the process's error handling as it was.
const accelerator = fileURLToPath(new URL('../../src/backends/accelerator.ts', import.meta.url))

const crashAfterStart = (backend: 'wasm' | 'cpu', how: 'throw' | 'reject'): Promise<{ code: number | null; stderr: string }> => {
  const failure = how === 'throw' ? "setTimeout(() => { throw new Error('boom from user code') })" : "Promise.reject(new Error('boom from user code'))"
  const script = `const { startBackend } = await import(${JSON.stringify(accelerator)}); const b = await startBackend('${backend}')(); if (b._tag !== 'Right') process.exit(3); ${failure}`
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null), stderr }))
  })
}

describe('an uncaught error after a backend started', () => {
  for (const backend of ['wasm', 'cpu'] as const)
    for (const how of ['throw', 'reject'] as const)
      it(`${backend}, ${how === 'throw' ? 'a throw' : 'an unhandled rejection'}: node prints the error and exits 1`, async () => {
        const { code, stderr } = await crashAfterStart(backend, how)
        expect(code).toBe(1)
        expect(stderr).toContain('boom from user code')
        expect(stderr.length).toBeLessThan(4000)
      }, 30_000)
})
