import * as tf from '@tensorflow/tfjs-core'
import { FUSED_ADAM, FUSED_ADAM_STEP, type FusedAdam, type FusedAdamStep, fusedAdamOn, fusedAdamStepOn, registerFusedAdam, registerFusedAdamStep } from './fusedAdam.js'
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
type AdamStepExport = (g: number, mu: number, nu: number, param: number, muOut: number, nuOut: number, paramOut: number, n: number, ...constants: number[]) => void
interface AdamExports {
  readonly adam: AdamExport
  readonly adamStep: AdamStepExport
}

/**
 * Registers the fused Adam kernels (wasmAdam.wat: SIMD, one pass over the leaf; with or without
 * the learning rate and the parameter's update) for the wasm backend. It works in the backend's own memory, which the kernel's module imports, so nothing is
 * copied. A runtime without WebAssembly SIMD gets no kernel, and a backend whose memory is not
 * reachable or is shared (threads) does not use it: Adam then runs op by op. Returns the steps for
 * the wasm backend's record (`kernels.adam`, `kernels.adamStep`), or undefined where the runtime has no SIMD.
 */
export const registerWasmAdam = (): { readonly adam: FusedAdam; readonly adamStep: FusedAdamStep } | undefined => {
  if (tf.getKernel(FUSED_ADAM, 'wasm') !== undefined && tf.getKernel(FUSED_ADAM_STEP, 'wasm') !== undefined) return { adam: fusedAdamOn('wasm'), adamStep: fusedAdamStepOn('wasm') }
  let module: object
  try {
    module = new webAssembly.Module(Buffer.from(wasmAdamBinary, 'base64'))
  } catch {
    return undefined
  }
  const instances = new WeakMap<Memory, AdamExports>()
  const exportsIn = (memory: Memory): AdamExports => {
    const known = instances.get(memory)
    if (known !== undefined) return known
    const made = new webAssembly.Instance(module, { env: { memory } }).exports as unknown as AdamExports
    instances.set(memory, made)
    return made
  }
  const memoryOf = (backend: unknown): Memory | undefined => {
    const memory = (backend as Partial<WasmBackendInternals>).wasm?.asm?.memory
    return memory === undefined || memory.buffer instanceof SharedArrayBuffer ? undefined : memory
  }
  const memoryNeeded = (backend: unknown): Memory => {
    const memory = memoryOf(backend)
    if (memory === undefined) throw new Error("the fused Adam kernels need the wasm backend's (unshared) memory")
    return memory
  }
  const canRun = (backend: unknown) => memoryOf(backend) !== undefined
  const adam = registerFusedAdam(
    'wasm',
    ({ g, mu, nu }, a, backend) => {
      const wasm = backend as WasmBackendInternals
      const memory = memoryNeeded(backend)
      const outputs = [wasm.makeOutput([...g.shape], 'float32'), wasm.makeOutput([...g.shape], 'float32'), wasm.makeOutput([...g.shape], 'float32')] as const
      // Offsets are read after every allocation: an allocation may grow the memory (offsets stay valid).
      const at = (t: tf.TensorInfo): number => wasm.dataIdMap.get(t.dataId).memoryOffset
      exportsIn(memory).adam(at(g), at(mu), at(nu), at(outputs[0]), at(outputs[1]), at(outputs[2]), tf.util.sizeFromShape(g.shape), a.b1, a.c1, a.b2, a.c2, a.k1, a.k2, a.eps)
      return [...outputs]
    },
    canRun,
  )
  const adamStep = registerFusedAdamStep(
    'wasm',
    ({ g, mu, nu, param }, a, backend) => {
      const wasm = backend as WasmBackendInternals
      const memory = memoryNeeded(backend)
      const outputs = [wasm.makeOutput([...g.shape], 'float32'), wasm.makeOutput([...g.shape], 'float32'), wasm.makeOutput([...g.shape], 'float32')] as const
      const at = (t: tf.TensorInfo): number => wasm.dataIdMap.get(t.dataId).memoryOffset
      exportsIn(memory).adamStep(at(g), at(mu), at(nu), at(param), at(outputs[0]), at(outputs[1]), at(outputs[2]), tf.util.sizeFromShape(g.shape), a.b1, a.c1, a.b2, a.c2, a.k1, a.k2, a.eps, a.scale)
      return [...outputs]
    },
    canRun,
  )
  return { adam, adamStep }
}
