import * as tf from '@tensorflow/tfjs-core'
import { SOFTMAX_CROSS_ENTROPY } from './fusedKernelNames.js'
import { wasmLossBinary } from './wasmLossBinary.js'
import { compiles, type ModuleIn, offsetOf, ownWasmModule, type WasmBackendInternals } from './wasmModule.js'

/**
 * The fused softmax cross-entropy kernel of the wasm backend (issue 19, contract C4, in
 * wasmLoss.wat): logits [n, c] float32 and class ids [n] int32 in; the mean loss (float32 scalar)
 * and its gradient with respect to the logits ((softmax − onehot) / n, [n, c]) out. One pass per
 * row instead of the ~20 kernels of the op path (max, subtract, exp, sum, log, one-hot, multiply,
 * mean and their gradients). nn.softmaxCrossEntropy uses it, through tf.customGrad, where the
 * engine's backend has it. Not bitwise the op path: its exp, log and sums are f64, rounded to
 * float32 once (within 1e-6 of the ops, which round every step).
 */

/** The module's exports (wasmLoss.wat); `exp` and `log` are exported for the accuracy tests. */
export interface WasmLossExports {
  softmaxCrossEntropy(x: number, y: number, dx: number, loss: number, n: number, c: number, tmp: number): void
  exp(x: number): number
  log(x: number): number
}

/**
 * The same formulas on the host (Math.exp and Math.log in f64, rounded to float32 once), for a
 * backend whose memory the module cannot import (a threaded build's shared memory). Its results
 * equal the WebAssembly kernel's except where an exact value lies within ~2^-50 of a float32
 * rounding midpoint.
 */
export const softmaxCrossEntropyOnHost = (x: Float32Array, y: Int32Array, n: number, c: number): { loss: number; dx: Float32Array } => {
  const dx = new Float32Array(n * c)
  const e = new Float64Array(c)
  const pairs = c - (c % 2)
  let total = 0
  for (let row = 0; row < n; row++) {
    const at = row * c
    let m = Number.NEGATIVE_INFINITY
    for (let j = 0; j < c; j++) m = Math.max(m, x[at + j] as number)
    // The kernel's order of additions: even and odd classes in two lanes, then the last one.
    let [even, odd] = [0, 0]
    for (let j = 0; j < c; j++) e[j] = Math.exp((x[at + j] as number) - m)
    for (let j = 0; j < pairs; j += 2) [even, odd] = [even + (e[j] as number), odd + (e[j + 1] as number)]
    const s = pairs < c ? even + odd + (e[c - 1] as number) : even + odd
    const label = y[row] as number
    total += Math.log(s) - (label >= 0 && label < c ? (x[at + label] as number) - m : 0)
    for (let j = 0; j < c; j++) dx[at + j] = ((e[j] as number) / s - (j === label ? 1 : 0)) * (1 / n)
  }
  return { loss: total * (1 / n), dx }
}

/** The module, in the memory of the wasm backend object given. */
export const wasmLossIn: ModuleIn<WasmLossExports> = ownWasmModule<WasmLossExports>(wasmLossBinary)

const kernelFunc: tf.KernelFunc = ({ inputs, backend }) => {
  const { logits, labels } = inputs as { logits: tf.TensorInfo; labels: tf.TensorInfo }
  const [n, c] = logits.shape as [number, number]
  if (logits.shape.length !== 2 || logits.dtype !== 'float32' || labels.dtype !== 'int32' || labels.shape.length !== 1 || labels.shape[0] !== n)
    throw new Error(`${SOFTMAX_CROSS_ENTROPY} takes logits float32 [n, c] and labels int32 [n], got ${logits.dtype} [${logits.shape}] and ${labels.dtype} [${labels.shape}]`)
  const wasm = backend as WasmBackendInternals
  const kernel = wasmLossIn(backend)
  if (kernel === undefined) {
    const { loss, dx } = softmaxCrossEntropyOnHost(wasm.readSync(logits.dataId) as Float32Array, wasm.readSync(labels.dataId) as Int32Array, n, c)
    return [wasm.makeOutput([], 'float32', undefined, Float32Array.of(loss)), wasm.makeOutput([n, c], 'float32', undefined, dx)]
  }
  const outputs = [wasm.makeOutput([], 'float32'), wasm.makeOutput([n, c], 'float32')] as const
  const scratch = wasm.makeOutput([2 * c], 'float32') // one row's exponentials, in f64
  const at = (t: tf.TensorInfo): number => offsetOf(backend, t)
  try {
    kernel.softmaxCrossEntropy(at(logits), at(labels), at(outputs[1]), at(outputs[0]), n, c, at(scratch))
  } finally {
    wasm.disposeData(scratch.dataId)
  }
  return [...outputs]
}

/**
 * Registers the fused softmax cross-entropy kernel for the wasm backend (idempotent). It runs in
 * the backend's own memory, which the module imports, so nothing is copied; where that memory is
 * not reachable (or shared) the same formulas run on the host. A runtime that cannot compile the
 * module gets no kernel, and the loss runs op by op. Returns whether the kernel is registered.
 */
export const registerWasmLoss = (): boolean => {
  if (tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'wasm') !== undefined) return true
  if (!compiles(wasmLossBinary)) return false
  tf.registerKernel({ kernelName: SOFTMAX_CROSS_ENTROPY, backendName: 'wasm', kernelFunc })
  return true
}
