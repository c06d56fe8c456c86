import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it, vi } from 'vitest'
import { type BackendProbe, liveBackends, startBackend } from '../../src/backends/accelerator.js'
import { rxtrainError } from '../../src/errors/rxtrainError.js'

// This file's process gets a wasm backend that cannot find its binary.
setWasmPaths('/nonexistent/')

describe('a wasm backend that cannot initialise', () => {
  it("'wasm' is a BackendError that says why and what to do; 'auto' falls back to cpu", async () => {
    // Emscripten reports the missing file on stderr as well; keep the test output clean.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const quietWarn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const wasm = await startBackend('wasm')()
    expect(E.isLeft(wasm)).toBe(true)
    if (E.isLeft(wasm)) {
      expect(wasm.left.tag).toBe('BackendError')
      expect(wasm.left.problem).toMatch(/^the wasm backend failed to initialise: .*ENOENT.*tfjs-backend-wasm/)
      expect(wasm.left.remedy).toMatch(/^reinstall dependencies with `npm ci` .*, or choose accelerator: 'cpu'\.$/)
    }
    // The GPU and tfjs-node candidates are made absent, so the test does not depend on this machine.
    const absent: BackendProbe = async () => E.left(rxtrainError('BackendError', 'not here', 'none'))
    const auto = await startBackend('auto', undefined, { ...liveBackends, 'tensorflow-gpu': absent, webgpu: absent, tensorflow: absent })()
    expect(E.isRight(auto) && auto.right.name).toBe('cpu')
    quiet.mockRestore()
    quietWarn.mockRestore()
  })
})
