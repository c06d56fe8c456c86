import * as tf from '@tensorflow/tfjs-core'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend, type OptimizerKernels } from './backend.js'
import { setupWasm, wasmFailureRemedy } from '#platform/wasmSetup.js'
import { initEngineBackend } from './initEngineBackend.js'
import { registerWasmKernelFixes } from './wasmKernels.js'
import { registerWasmAdam } from './wasmAdam.js'
import { registerWasmBias } from './wasmBias.js'
import { registerWasmDense } from './wasmBiasDense.js'
import { registerWasmLoss } from './wasmLoss.js'
import './gradients.js'

let kernels: OptimizerKernels = {}

/**
 * WebAssembly backend (XNNPACK kernels, SIMD where the runtime has it), the fastest CPU backend
 * here. Single-threaded in Node and, by rxtrain's choice, in a browser too (the page serves the
 * .wasm files and calls `setWasmPaths` itself). Its package is loaded on first use. Offers the
 * fused Adam kernels where the runtime has WebAssembly SIMD.
 */
export const wasmBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = initEngineBackend(
  'wasm',
  async () => {
    await import('@tensorflow/tfjs-backend-wasm')
    // In a browser: the single-threaded build, so that results are bitwise Node's.
    setupWasm()
    registerWasmKernelFixes()
    kernels = registerWasmAdam() ?? {}
    registerWasmLoss()
    if (registerWasmBias()) registerWasmDense()
  },
  async () => {
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true
    return engineBackend('wasm', 'cpu', `wasm (XNNPACK${simd ? ', SIMD' : ''}, 1 thread, tfjs ${tf.version_core})`, { kernels })
  },
  'wasm',
  wasmFailureRemedy,
)
