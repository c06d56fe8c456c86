import type * as tf from '@tensorflow/tfjs-core'

/**
 * rxtrain's own WebAssembly kernels (the .wat files beside this one) run in tfjs-backend-wasm's
 * memory: their modules import it, so a kernel reads its inputs and writes its outputs where the
 * backend keeps tensors, and nothing is copied. This file compiles a module once and instantiates
 * it once per backend memory.
 */

/** The parts of the WebAssembly API used here (the project's lib settings have no DOM types). */
type Memory = { readonly buffer: ArrayBufferLike }
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly

/**
 * The bytes that base64 text stands for, by `atob` (Node 16+ and every browser have it), not
 * Node's `Buffer`, which a browser lacks. The kernels' binaries are a few KB, decoded once.
 */
export const bytesOfBase64 = (base64: string): Uint8Array => {
  const text = atob(base64)
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i)
  return bytes
}

/** `bytes` as base64 text (the inverse of `bytesOfBase64`), by `btoa`, in chunks that any engine's argument limit takes. */
export const base64OfBytes = (bytes: Uint8Array): string => {
  let text = ''
  for (let i = 0; i < bytes.length; i += 0x2000) text += String.fromCharCode(...bytes.subarray(i, i + 0x2000))
  return btoa(text)
}

/** What rxtrain's kernels need of tfjs-backend-wasm 4.22's backend object. */
export interface WasmBackendInternals {
  readonly wasm: { readonly asm?: { readonly memory?: Memory } }
  readonly dataIdMap: { get(dataId: object): { readonly memoryOffset: number } }
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo
  readSync(dataId: object): tf.backend_util.BackendValues
  disposeData(dataId: object): void
}

/** A module's exports in one backend's memory, or undefined where it cannot run there. */
export type ModuleIn<E> = (backend: unknown) => E | undefined

/**
 * Whether a memory is shared (tfjs's threaded build). A page that is not cross-origin isolated
 * has no `SharedArrayBuffer` global at all, and `instanceof` an undefined value throws.
 */
const isShared = (memory: Memory): boolean => typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer

/**
 * The module `base64` (a binary made by `npm run build:wasm`), compiled on first use. Answers
 * undefined where the runtime cannot compile it (no WebAssembly SIMD) or the backend's memory is
 * not reachable or is shared (a threaded build): the caller then runs tfjs's own kernels.
 */
export const ownWasmModule = <E>(base64: string): ModuleIn<E> => {
  let compiled: object | undefined | null = null
  const instances = new WeakMap<Memory, E>()
  return (backend) => {
    if (compiled === null)
      try {
        compiled = new webAssembly.Module(bytesOfBase64(base64))
      } catch {
        compiled = undefined
      }
    const memory = (backend as Partial<WasmBackendInternals>).wasm?.asm?.memory
    if (compiled === undefined || memory === undefined || isShared(memory)) return undefined
    const known = instances.get(memory)
    if (known !== undefined) return known
    const made = new webAssembly.Instance(compiled, { env: { memory } }).exports as unknown as E
    instances.set(memory, made)
    return made
  }
}

/** Whether the runtime compiles the module `base64` at all (a runtime without SIMD does not). */
export const compiles = (base64: string): boolean => {
  try {
    new webAssembly.Module(bytesOfBase64(base64))
    return true
  } catch {
    return false
  }
}

/** A tensor's byte offset in the backend's memory (read after every allocation: one may grow the memory). */
export const offsetOf = (backend: unknown, t: tf.TensorInfo): number => (backend as WasmBackendInternals).dataIdMap.get(t.dataId).memoryOffset
