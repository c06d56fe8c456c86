import * as tf from '@tensorflow/tfjs-core'
import { wasmBiasBinary } from './wasmBiasBinary.js'
import { compiles, type ModuleIn, offsetOf, ownWasmModule, type WasmBackendInternals } from './wasmModule.js'

/**
 * A dense layer's bias on the wasm backend (issue 19): tfjs-backend-wasm 4.22 adds a bias
 * [units] to activations [batch, units] with its generic broadcasting loop (about eight times the
 * time of a same-shape add), and sums the bias gradient over the batch by transposing it first
 * (a transpose and a reduction, about ten times a plain pass). rxtrain replaces its `Add` and
 * `Sum` kernels for exactly these two shapes with SIMD loops (wasmBias.wat) that perform the same
 * float32 additions in the same order, so the results are bitwise those of tfjs's kernels; every
 * other case goes to tfjs's kernel unchanged.
 */

/** The module's exports (wasmBias.wat). */
export interface WasmBiasExports {
  biasAdd(x: number, b: number, out: number, rows: number, cols: number): void
  sumRows(x: number, out: number, rows: number, cols: number): void
  biasRelu(z: number, b: number, rows: number, cols: number, hasBias: number, relu: number): void
  denseBackward(dy: number, y: number, dz: number, dbias: number, rows: number, cols: number, relu: number): void
}

/** The module, in the memory of the wasm backend object given. */
export const wasmBiasIn: ModuleIn<WasmBiasExports> = ownWasmModule<WasmBiasExports>(wasmBiasBinary)

type KernelFunc = tf.KernelConfig['kernelFunc']

/** `x [..., c] + b [c]` (either operand order), both float32: the rows and columns, or undefined. */
const biasShape = (a: tf.TensorInfo, b: tf.TensorInfo): { x: tf.TensorInfo; bias: tf.TensorInfo; rows: number } | undefined => {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined
  const [x, bias] = a.shape.length >= 2 && b.shape.length === 1 ? [a, b] : b.shape.length >= 2 && a.shape.length === 1 ? [b, a] : [undefined, undefined]
  const cols = bias?.shape[0]
  if (x === undefined || bias === undefined || cols === undefined || cols === 0 || x.shape.at(-1) !== cols) return undefined
  const rows = tf.util.sizeFromShape(x.shape) / cols
  return rows === 0 ? undefined : { x, bias, rows }
}

const biasAdd =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
    const shape = biasShape(a, b)
    const kernel = shape === undefined ? undefined : wasmBiasIn(args.backend)
    if (shape === undefined || kernel === undefined) return original(args)
    const out = (args.backend as unknown as WasmBackendInternals).makeOutput([...shape.x.shape], 'float32')
    const at = (t: tf.TensorInfo): number => offsetOf(args.backend, t)
    kernel.biasAdd(at(shape.x), at(shape.bias), at(out), shape.rows, shape.bias.shape[0] as number)
    return out
  }

/** A float32 sum over the leading axes 0..k-1 (k < rank, at least one non-empty row): rows and columns, or undefined. */
const leadingSum = (x: tf.TensorInfo, axis: number | number[]): { rows: number; cols: number; k: number } | undefined => {
  if (x.dtype !== 'float32' || x.shape.length < 2) return undefined
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q)
  const k = axes.length
  if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return undefined
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k))
  const cols = tf.util.sizeFromShape(x.shape.slice(k))
  return rows === 0 || cols === 0 ? undefined : { rows, cols, k }
}

const columnSum =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo }
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean }
    const sum = leadingSum(x, axis)
    const kernel = sum === undefined ? undefined : wasmBiasIn(args.backend)
    if (sum === undefined || kernel === undefined) return original(args)
    const kept = x.shape.slice(sum.k)
    const out = (args.backend as unknown as WasmBackendInternals).makeOutput(keepDims ? [...x.shape.slice(0, sum.k).map(() => 1), ...kept] : kept, 'float32')
    kernel.sumRows(offsetOf(args.backend, x), offsetOf(args.backend, out), sum.rows, sum.cols)
    return out
  }

const PATCHED = 'rxtrainBias'
const originals = new Map<string, KernelFunc>()

/** tfjs's own wasm kernel that the bias kernels replaced (for tests and benchmarks comparing the two). */
export const tfjsWasmKernel = (kernelName: 'Add' | 'Sum'): KernelFunc | undefined => originals.get(kernelName)

const replace = (kernelName: string, make: (original: KernelFunc) => KernelFunc): void => {
  const original = tf.getKernel(kernelName, 'wasm') as (tf.KernelConfig & { [PATCHED]?: boolean }) | undefined
  if (original === undefined || original[PATCHED] === true) return
  originals.set(kernelName, original.kernelFunc)
  tf.unregisterKernel(kernelName, 'wasm')
  tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) })
  ;(tf.getKernel(kernelName, 'wasm') as tf.KernelConfig & { [PATCHED]?: boolean })[PATCHED] = true
}

/**
 * Replaces wasm's `Add` (for x [..., c] + b [c]) and `Sum` (over leading axes, float32) with the
 * bias kernels, where the runtime compiles them (idempotent). Returns whether they are installed.
 * On a backend object whose memory the module cannot import, tfjs's kernels run.
 */
export const registerWasmBias = (): boolean => {
  if (!compiles(wasmBiasBinary)) return false
  replace('Add', biasAdd)
  replace('Sum', columnSum)
  return true
}
