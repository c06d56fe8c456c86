import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it, vi } from 'vitest'
import { startBackend } from '../../src/backends/accelerator.js'

// The browser's platform module for wasm, as a page's bundle has it (the rest stays Node's).
vi.mock('#platform/wasmSetup.js', () => import('../../src/effects/platform/browser/wasmSetup.js'))
// This file's process gets a wasm backend that cannot find its binary, as a page that serves no .wasm files.
setWasmPaths('/nonexistent/')

describe('a wasm backend that cannot initialise in a page', () => {
  it('says to serve the .wasm files and call setWasmPaths (Node says to reinstall)', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const quietWarn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const wasm = await startBackend('wasm')()
    quiet.mockRestore()
    quietWarn.mockRestore()
    expect(E.isLeft(wasm) && wasm.left.remedy).toMatch(/^serve tfjs-backend-wasm's \.wasm files .* setWasmPaths\('<their folder URL>\/'\) before the run, or choose accelerator: 'cpu'\.$/)
  })
})
