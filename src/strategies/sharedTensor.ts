import * as tf from '@tensorflow/tfjs-core'
import type { BackendName } from '../backends/backend.js'

/**
 * A tensor holding the current values of `size` words of shared memory from `offset`. The wasm
 * backend copies a tensor's values into its heap when the tensor is made, so it is given a view
 * of the shared memory; other backends may keep the array they are given (the cpu backend does),
 * and the shared memory changes under them, so they get a copy.
 */
export const tensorFromShared = (backend: BackendName, words: Float32Array, offset: number, size: number, shape: readonly number[]): tf.Tensor =>
  tensorFromView(backend, words.subarray(offset, offset + size), shape, 'float32')

/** `tensorFromShared` for a view of any dtype (a view of shared memory, copied as that rule says). */
export const tensorFromView = (backend: BackendName, view: Float32Array | Int32Array | Uint8Array, shape: readonly number[], dtype: 'float32' | 'int32' | 'bool'): tf.Tensor =>
  tf.tensor(backend === 'wasm' ? view : view.slice(), [...shape], dtype)

type Heap = { typedArrayFromHeap?(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array }

/**
 * On wasm, a view of a tensor's values in the backend's heap, without a copy (valid until the heap
 * next grows, so to be used at once); undefined elsewhere.
 */
export const heapView = (backend: BackendName, t: tf.Tensor): Float32Array | Int32Array | Uint8Array | undefined => {
  if (backend !== 'wasm') return undefined
  const engine = tf.backend() as unknown as Heap & { dataIdMap?: { has(id: object): boolean } }
  // Data still held by another backend would be moved in first, which may grow the heap and
  // leave the view dangling: such a tensor is read back instead.
  if (engine.dataIdMap?.has(t.dataId) !== true) return undefined
  return engine.typedArrayFromHeap?.call(engine, t)
}

/** A tensor's values on the host: a view of the wasm heap (used at once), else read back. */
export const hostValues = (backend: BackendName, t: tf.Tensor): Float32Array | Int32Array | Uint8Array =>
  heapView(backend, t) ?? (t.dataSync() as Float32Array | Int32Array | Uint8Array)

/** Writes a float32 tensor's values into shared memory at `offset` (on wasm straight from its heap). */
export const writeToShared = (backend: BackendName, t: tf.Tensor, words: Float32Array, offset: number): void => words.set(hostValues(backend, t), offset)
