/**
 * rxtrain's own wasm kernels load without Node's globals (issue 20): the binaries are decoded
 * with `atob`, not `Buffer`, and a page without `SharedArrayBuffer` (not cross-origin isolated)
 * still runs them. And the browser's wasm setup forces tfjs's single-threaded build.
 */
import * as tf from '@tensorflow/tfjs-core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { base64OfBytes, bytesOfBase64, compiles, ownWasmModule } from '../../src/backends/wasmModule.js'
import { wasmGemmBinary } from '../../src/backends/wasmGemmBinary.js'
import { setupWasm } from '../../src/effects/platform/browser/wasmSetup.js'

afterEach(() => vi.unstubAllGlobals())

describe('base64 without Buffer', () => {
  it("decodes as Node's Buffer does: every byte value, every length mod 3, a kernel binary", () => {
    const all = Uint8Array.from({ length: 256 * 3 + 2 }, (_, i) => (i * 37 + 11) % 256)
    for (const length of [0, 1, 2, 3, 255, 256, all.length]) {
      const bytes = all.subarray(0, length)
      const text = Buffer.from(bytes).toString('base64')
      expect(base64OfBytes(bytes)).toBe(text)
      expect(Buffer.from(bytesOfBase64(text)).equals(Buffer.from(bytes))).toBe(true)
    }
    expect(Buffer.from(bytesOfBase64(wasmGemmBinary)).equals(Buffer.from(wasmGemmBinary, 'base64'))).toBe(true)
  })

  it('encodes more than one chunk (the argument limit of String.fromCharCode)', () => {
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 256)
    expect(base64OfBytes(big)).toBe(Buffer.from(big).toString('base64'))
  })
})

describe('kernels where Node globals are missing (a browser page)', () => {
  it('compiles a kernel binary with no Buffer global', () => {
    vi.stubGlobal('Buffer', undefined)
    expect(compiles(wasmGemmBinary)).toBe(true)
  })

  it('instantiates in a memory when the page has no SharedArrayBuffer (not cross-origin isolated)', () => {
    vi.stubGlobal('Buffer', undefined)
    vi.stubGlobal('SharedArrayBuffer', undefined)
    const memory = new WebAssembly.Memory({ initial: 256 })
    const module = ownWasmModule<{ readonly gemm: unknown }>(wasmGemmBinary)
    expect(typeof module({ wasm: { asm: { memory } } })?.gemm).toBe('function')
  })

  it('stands aside on a shared memory (a threaded build)', () => {
    const memory = new WebAssembly.Memory({ initial: 256, maximum: 256, shared: true })
    expect(ownWasmModule(wasmGemmBinary)({ wasm: { asm: { memory } } })).toBeUndefined()
  })
})

describe("the browser's wasm setup", () => {
  it("forces tfjs's single-threaded build, so results are bitwise Node's", async () => {
    await import('@tensorflow/tfjs-backend-wasm')
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true)
    setupWasm()
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(false)
  })
})
