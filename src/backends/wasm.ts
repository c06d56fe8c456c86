import * as tf from '@tensorflow/tfjs-core'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend } from './backend.js'
import type { FusedAdam } from './fusedAdam.js'
import { initEngineBackend } from './initEngineBackend.js'
import { registerWasmKernelFixes } from './wasmKernels.js'
import { registerWasmAdam } from './wasmAdam.js'
import './gradients.js'

let adam: FusedAdam | undefined

/**
 * WebAssembly backend (XNNPACK kernels, SIMD where the runtime has it). Single-threaded in
 * Node, and the fastest CPU backend here. Its package is loaded on first use. Offers the fused
 * Adam kernel where the runtime has WebAssembly SIMD.
 */
export const wasmBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = initEngineBackend(
  'wasm',
  async () => {
    await import('@tensorflow/tfjs-backend-wasm')
    registerWasmKernelFixes()
    adam = registerWasmAdam()
  },
  async () => {
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true
    return engineBackend('wasm', 'cpu', `wasm (XNNPACK${simd ? ', SIMD' : ''}, 1 thread, tfjs ${tf.version_core})`, { kernels: adam === undefined ? {} : { adam } })
  },
)
