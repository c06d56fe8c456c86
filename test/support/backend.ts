import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../../src/backends/backend.js'
import { cpuBackend } from '../../src/backends/cpu.js'
import { wasmBackend } from '../../src/backends/wasm.js'

/** Initialises a backend for a test file and makes it current; fails the test if it cannot. */
export const useBackend = async (name: 'cpu' | 'wasm' = 'cpu'): Promise<Backend> => {
  const result = await (name === 'cpu' ? cpuBackend : wasmBackend)()
  if (E.isLeft(result)) throw result.left
  result.right.activate()
  return result.right
}
