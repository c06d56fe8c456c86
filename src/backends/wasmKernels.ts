import * as tf from '@tensorflow/tfjs-core'

/**
 * Corrections to tfjs-backend-wasm 4.22 kernels that give wrong results, registered when the wasm
 * backend initialises. Each replaces a kernel with one that delegates to the original.
 */

type KernelFunc = tf.KernelConfig['kernelFunc']

const replaceKernel = (kernelName: string, make: (original: KernelFunc) => KernelFunc): void => {
  const original = tf.getKernel(kernelName, 'wasm')
  if (original === undefined || (original as { rxtrainPatched?: boolean }).rxtrainPatched === true) return
  tf.unregisterKernel(kernelName, 'wasm')
  const config = { ...original, kernelFunc: make(original.kernelFunc) }
  tf.registerKernel(config)
  ;(tf.getKernel(kernelName, 'wasm') as { rxtrainPatched?: boolean }).rxtrainPatched = true
}

/**
 * wasm's OneHot writes int32 values whatever `dtype` asks for, so a float32 one-hot reads as
 * denormals (1 becomes 1.4e-45) and a cross-entropy built on it silently trains on nothing.
 * The fix computes the int32 one-hot and casts it.
 */
const oneHotWithDtype = (original: KernelFunc): KernelFunc => (args) => {
  const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? 'int32'
  if (dtype === 'int32') return original(args)
  const ints = original({ ...args, attrs: { ...args.attrs, dtype: 'int32' } }) as tf.TensorInfo
  const cast = tf.getKernel('Cast', 'wasm')
  if (cast === undefined) throw new Error('wasm backend has no Cast kernel')
  const out = cast.kernelFunc({ inputs: { x: ints }, backend: args.backend, attrs: { dtype } })
  ;(args.backend as tf.KernelBackend).disposeData(ints.dataId)
  return out
}

/** Registers rxtrain's wasm kernel corrections (idempotent). */
export const registerWasmKernelFixes = (): void => {
  replaceKernel('OneHot', oneHotWithDtype)
}
