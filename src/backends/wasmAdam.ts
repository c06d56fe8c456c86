import * as tf from '@tensorflow/tfjs-core'
import { FUSED_ADAM, type FusedAdam, fusedAdamOn, registerFusedAdam } from './fusedAdam.js'
import { wasmAdamBinary } from './wasmAdamBinary.js'

/** The parts of the WebAssembly API used here (the project's lib settings have no DOM types). */
type Memory = { readonly buffer: ArrayBufferLike }
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly

/** What the kernel needs of tfjs-backend-wasm 4.22's backend object. */
interface WasmBackendInternals {
  readonly wasm: { readonly asm?: { readonly memory?: Memory } }
  readonly dataIdMap: { get(dataId: object): { readonly memoryOffset: number } }
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
}

type AdamExport = (g: number, mu: number, nu: number, muOut: number, nuOut: number, update: number, n: number, ...constants: number[]) => void

/**
 * Registers the fused Adam kernel (wasmAdam.wat: SIMD, one pass over the leaf) for the wasm
 * backend. It works in the backend's own memory, which the kernel's module imports, so nothing is
 * copied. A runtime without WebAssembly SIMD gets no kernel, and a backend whose memory is not
 * reachable or is shared (threads) does not use it: Adam then runs op by op. Returns the step for
 * the wasm backend's record (`kernels.adam`), or undefined where the runtime has no SIMD.
 */
export const registerWasmAdam = (): FusedAdam | undefined => {
  if (tf.getKernel(FUSED_ADAM, 'wasm') !== undefined) return fusedAdamOn('wasm')
  let module: object
  try {
    module = new webAssembly.Module(Buffer.from(wasmAdamBinary, 'base64'))
  } catch {
    return undefined
  }
  const instances = new WeakMap<Memory, AdamExport>()
  const adamIn = (memory: Memory): AdamExport => {
    const known = instances.get(memory)
    if (known !== undefined) return known
    const made = new webAssembly.Instance(module, { env: { memory } }).exports.adam as AdamExport
    instances.set(memory, made)
    return made
  }
  const memoryOf = (backend: unknown): Memory | undefined => {
    const memory = (backend as Partial<WasmBackendInternals>).wasm?.asm?.memory
    return memory === undefined || memory.buffer instanceof SharedArrayBuffer ? undefined : memory
  }
  return registerFusedAdam(
    'wasm',
    ({ g, mu, nu }, a, backend) => {
      const wasm = backend as WasmBackendInternals
      const memory = memoryOf(backend)
      if (memory === undefined) throw new Error("the fused Adam kernel needs the wasm backend's (unshared) memory")
      const outputs = [wasm.makeOutput([...g.shape], 'float32'), wasm.makeOutput([...g.shape], 'float32'), wasm.makeOutput([...g.shape], 'float32')] as const
      // Offsets are read after every allocation: an allocation may grow the memory (offsets stay valid).
      const at = (t: tf.TensorInfo): number => wasm.dataIdMap.get(t.dataId).memoryOffset
      adamIn(memory)(at(g), at(mu), at(nu), at(outputs[0]), at(outputs[1]), at(outputs[2]), tf.util.sizeFromShape(g.shape), a.b1, a.c1, a.b2, a.c2, a.k1, a.k2, a.eps)
      return [...outputs]
    },
    (backend) => memoryOf(backend) !== undefined,
  )
}
