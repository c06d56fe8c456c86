import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../../src/backends/backend.js'
import { cpuBackend } from '../../src/backends/cpu.js'
import { wasmBackend } from '../../src/backends/wasm.js'
import { withoutHostReads } from '../../src/backends/backend.js'
import { manualSignals } from '../../src/effects/signals.js'

/** Initialises a backend for a test file and makes it current; fails the test if it cannot. */
export const useBackend = async (name: 'cpu' | 'wasm' = 'cpu'): Promise<Backend> => {
  const result = await (name === 'cpu' ? cpuBackend : wasmBackend)()
  if (E.isLeft(result)) throw result.left
  result.right.activate()
  return result.right
}

/**
 * Signals that never fire and never make a run wait: with them a run over in-memory data is
 * synchronous from start to end (the live ones yield to the event loop now and then).
 */
export const quiet = manualSignals()

/**
 * `backend` as a backend without synchronous reads (webgpu in Node): every read is asynchronous
 * and takes `delayMs`, so each step stays in flight for a while. Runs the loop's asynchronous
 * path on cpu.
 */
export const asyncOnly = (backend: Backend, delayMs: number): Backend => ({
  ...withoutHostReads(backend),
  readScalarsAsync: async (scalars) => {
    const values = backend.readScalarsAsync(scalars)
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    return values
  },
})
