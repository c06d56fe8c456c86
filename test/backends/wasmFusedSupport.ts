import * as tf from '@tensorflow/tfjs-core'
import { DENSE, DENSE_BACKWARD } from '../../src/backends/fusedKernelNames.js'
import { tfjsWasmKernel } from '../../src/backends/wasmBias.js'

// Helpers of the tests of rxtrain's own wasm kernels (test/backends/wasmFused*.test.ts).

export const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer))

/** tfjs-backend-wasm's own kernel, which the bias kernels replaced, run on the same inputs. */
export const tfjs = (name: 'Add' | 'Sum', inputs: Record<string, tf.Tensor>, attrs: object = {}, backend: tf.KernelBackend = tf.backend()): tf.Tensor => {
  const kernel = tfjsWasmKernel(name)
  if (kernel === undefined) throw new Error(`the bias kernels replace wasm's ${name}`)
  return tf.engine().makeTensorFromTensorInfo(kernel({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo)
}

/** Runs `f` with tfjs's own Add and Sum and without the fused dense kernels (dense layers then run op by op). */
export const withTfjsKernels = <T>(f: () => T): T => {
  const saved = ['Add', 'Sum', DENSE, DENSE_BACKWARD].map((name) => tf.getKernel(name, 'wasm') as tf.KernelConfig)
  for (const config of saved) tf.unregisterKernel(config.kernelName, 'wasm')
  for (const config of saved.slice(0, 2)) tf.registerKernel({ ...config, kernelFunc: tfjsWasmKernel(config.kernelName as 'Add' | 'Sum') as tf.KernelFunc })
  try {
    return f()
  } finally {
    for (const config of saved.slice(0, 2)) tf.unregisterKernel(config.kernelName, 'wasm')
    for (const config of saved) tf.registerKernel(config)
  }
}

/** Values of every magnitude, with signed zeros, so that any change in the order of additions shows. */
export const values = (shape: number[], seed: number): tf.Tensor =>
  tf.tidy(() => tf.mul(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), tf.exp(tf.randomUniform(shape, -8, 8, 'float32', seed + 1))), tf.sign(tf.randomNormal(shape, 0, 1, 'float32', seed + 2))))

/**
 * The current (wasm) backend object as it would be in a build whose memory rxtrain's modules
 * cannot import (a threaded build): everything else is the real backend.
 */
export const unreachableMemory = (): tf.KernelBackend => {
  const real = tf.backend() as unknown as { wasm: object }
  const wasm = new Proxy(real.wasm, { get: (target, p) => (p === 'asm' ? {} : Reflect.get(target, p)) })
  return Object.create(real, { wasm: { value: wasm } }) as tf.KernelBackend
}
