import * as tf from '@tensorflow/tfjs-core'
import type { BackendName } from '../backends/backend.js'

/**
 * A tensor holding the current values of `size` words of shared memory from `offset`. The wasm
 * backend copies a tensor's values into its heap when the tensor is made, so it is given a view
 * of the shared memory; other backends may keep the array they are given (the cpu backend does),
 * and the shared memory changes under them, so they get a copy.
 */
export const tensorFromShared = (backend: BackendName, words: Float32Array, offset: number, size: number, shape: readonly number[]): tf.Tensor =>
  tf.tensor(backend === 'wasm' ? words.subarray(offset, offset + size) : words.slice(offset, offset + size), [...shape], 'float32')
