import * as tf from '@tensorflow/tfjs-core'
import { FUSED_ADAM, FUSED_ADAM_STEP, type FusedAdam, type FusedAdamStep, fusedAdamOn, fusedAdamStepOn, registerFusedAdam, registerFusedAdamStep } from './fusedAdam.js'
import { wasmAdamBinary } from './wasmAdamBinary.js'
import { compiles, offsetOf, ownWasmModule, type WasmBackendInternals } from './wasmModule.js'

type AdamExport = (g: number, mu: number, nu: number, muOut: number, nuOut: number, update: number, n: number, ...constants: number[]) => void
type AdamStepExport = (g: number, mu: number, nu: number, param: number, muOut: number, nuOut: number, paramOut: number, n: number, ...constants: number[]) => void
interface AdamExports {
  readonly adam: AdamExport
  readonly adamStep: AdamStepExport
}

/** wasmAdam.wat in a backend's memory (compiled once, one instance per memory). */
const adamModule = ownWasmModule<AdamExports>(wasmAdamBinary)

/** The module's exports over `backend`'s memory; the kernels are registered only where they can run. */
const exportsIn = (backend: unknown): AdamExports => {
  const made = adamModule(backend)
  if (made === undefined) throw new Error("the fused Adam kernels need the wasm backend's (unshared) memory")
  return made
}

/** Three float32 outputs shaped like `like`. */
const outputsLike = (backend: unknown, like: tf.TensorInfo): readonly [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] => {
  const wasm = backend as WasmBackendInternals
  return [wasm.makeOutput([...like.shape], 'float32'), wasm.makeOutput([...like.shape], 'float32'), wasm.makeOutput([...like.shape], 'float32')]
}

/**
 * Registers the fused Adam kernels (wasmAdam.wat: SIMD, one pass over the leaf; with or without
 * the learning rate and the parameter's update) for the wasm backend. They work in the backend's
 * own memory, which the kernels' module imports, so nothing is copied. A runtime without
 * WebAssembly SIMD gets no kernel, and a backend whose memory is not reachable or is shared
 * (threads) does not use them: Adam then runs op by op. Returns the steps for the wasm backend's
 * record (`kernels.adam`, `kernels.adamStep`), or undefined where the runtime has no SIMD.
 */
export const registerWasmAdam = (): { readonly adam: FusedAdam; readonly adamStep: FusedAdamStep } | undefined => {
  if (tf.getKernel(FUSED_ADAM, 'wasm') !== undefined && tf.getKernel(FUSED_ADAM_STEP, 'wasm') !== undefined) return { adam: fusedAdamOn('wasm'), adamStep: fusedAdamStepOn('wasm') }
  if (!compiles(wasmAdamBinary)) return undefined
  const canRun = (backend: unknown) => adamModule(backend) !== undefined
  // Offsets are read after every allocation: an allocation may grow the memory (offsets stay valid).
  const adam = registerFusedAdam(
    'wasm',
    ({ g, mu, nu }, a, backend) => {
      const out = outputsLike(backend, g)
      const at = (t: tf.TensorInfo): number => offsetOf(backend, t)
      exportsIn(backend).adam(at(g), at(mu), at(nu), at(out[0]), at(out[1]), at(out[2]), tf.util.sizeFromShape(g.shape), a.b1, a.c1, a.b2, a.c2, a.k1, a.k2, a.eps)
      return [...out]
    },
    canRun,
  )
  const adamStep = registerFusedAdamStep(
    'wasm',
    ({ g, mu, nu, param }, a, backend) => {
      const out = outputsLike(backend, g)
      const at = (t: tf.TensorInfo): number => offsetOf(backend, t)
      exportsIn(backend).adamStep(at(g), at(mu), at(nu), at(param), at(out[0]), at(out[1]), at(out[2]), tf.util.sizeFromShape(g.shape), a.b1, a.c1, a.b2, a.c2, a.k1, a.k2, a.eps, a.scale)
      return [...out]
    },
    canRun,
  )
  return { adam, adamStep }
}
