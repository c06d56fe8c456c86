import * as tf from '@tensorflow/tfjs-core'

/** Engine backends whose tensors live in host memory: a synchronous read is a copy at most. */
const inHostMemory: ReadonlySet<string> = new Set(['cpu', 'wasm', 'tensorflow'])

/**
 * A tensor's values when reading them costs a copy in host memory (cpu, wasm, tensorflow), else
 * `undefined` (webgpu: a synchronous read would stall the device's queue, and Node cannot map its
 * buffers synchronously at all). For checks on small tensors, such as a batch's class ids, that
 * must cost nothing next to a training step and must never synchronise with a device.
 */
export const hostValues = (t: tf.Tensor): tf.TypedArray | undefined => {
  if (!inHostMemory.has(tf.getBackend())) return undefined
  const values = t.dataSync()
  return values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array ? values : undefined
}
