import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { base64OfBytes, type ModuleIn, ownWasmModule, type WasmBackendInternals } from './wasmModule.js'
import { wasmGemmBinary } from './wasmGemmBinary.js'

/**
 * rxtrain's own matrix product for the wasm backend (wasmGemm.wat, SIMD), used by the BatchMatMul
 * and _FusedMatMul kernels in place of XNNPACK's fully-connected operator where it is faster.
 * tfjs creates that operator, which packs and transposes the right-hand operand, for every new
 * right-hand tensor, and in training every weight is a new tensor after each step: each step
 * paid the packing of W1 [784, 256] (about 0.6 ms here) and the explicit transposes that
 * wasmKernels.ts adds for x^T dy. This kernel keeps no state: it copies one 8-column panel of B
 * at a time into a scratch area, and a transposed A once into blocks of 4 columns (a scratch as
 * large as A, for the length of the call). Its results are bitwise XNNPACK's: each output is
 * summed over k in order from the bias (or +0), a multiplication then an addition, and ReLU
 * clamps as XNNPACK's x86 kernels do.
 */

type KernelFunc = tf.KernelConfig['kernelFunc']

type GemmExport = (a: number, b: number, c: number, bias: number, m: number, n: number, k: number, transA: number, transB: number, relu: number, scratch: number) => void

/** wasmGemm.wat in a backend's memory (compiled once, one instance per memory). */
const own = ownWasmModule<{ readonly gemm: GemmExport }>(wasmGemmBinary)
/** The module in use where a test set one. */
let testModule: ModuleIn<{ readonly gemm: GemmExport }> | undefined

/** The kernel over `backend`'s memory, or undefined: no SIMD, or memory unreachable or shared (threads). */
const gemmOn = (backend: unknown): GemmExport | undefined => (testModule ?? own)(backend)?.gemm

/** For tests: use `bytes` compiled instead of wasmGemm.wat (invalid bytes stand for a runtime without SIMD); undefined restores. */
export const setWasmGemmBinaryForTests = (bytes: Uint8Array | undefined): void => {
  testModule = bytes === undefined ? undefined : ownWasmModule(base64OfBytes(bytes))
}

interface MatMulAttrs {
  readonly transposeA?: boolean
  readonly transposeB?: boolean
  readonly activation?: string
}

const isOne = (dims: readonly number[]): boolean => dims.every((d) => d === 1)

/**
 * Whether this kernel should take the product: whenever there is a term to sum. Measured on the
 * bench's five products (bench/gemmMicro.ts: wasm, one thread, in one process), with k unrolled
 * it is faster than XNNPACK on each of them, even against XNNPACK's weights packed once and
 * reused, including dy W2^T (k = 10), which XNNPACK took while this kernel ran one k step a loop.
 */
const worthIt = (_m: number, _n: number, k: number): boolean => k > 0

/**
 * Runs a BatchMatMul or _FusedMatMul with rxtrain's kernel, whatever the sizes, or answers
 * undefined where it cannot: another dtype, batched operands, an activation other than
 * linear/ReLU, a bias that is not one value per column, PReLU weights, no SIMD, or the backend's
 * memory unreachable. (`gemmKernel` also leaves products without terms, k = 0, to tfjs.)
 */
export const wasmGemm = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0], sizes: (m: number, n: number, k: number, transposeA: boolean) => boolean = () => true): tf.TensorInfo | undefined => {
  const { a, b, bias, preluActivationWeights } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo }
  const { transposeA = false, transposeB = false, activation = 'linear' } = (attrs ?? {}) as MatMulAttrs
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined
  if (preluActivationWeights !== undefined || (activation !== 'linear' && activation !== 'relu')) return undefined
  const aBatch = a.shape.slice(0, -2)
  const bBatch = b.shape.slice(0, -2)
  if (!isOne(aBatch) || !isOne(bBatch)) return undefined
  const [ar, ac] = a.shape.slice(-2) as [number, number]
  const [br, bc] = b.shape.slice(-2) as [number, number]
  const [m, k] = transposeA ? [ac, ar] : [ar, ac]
  const [kb, n] = transposeB ? [bc, br] : [br, bc]
  if (k !== kb || m === 0 || n === 0 || !sizes(m, n, k, transposeA)) return undefined
  if (bias !== undefined && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return undefined
  const gemm = gemmOn(backend)
  if (gemm === undefined) return undefined
  const wasm = backend as unknown as WasmBackendInternals
  const out = wasm.makeOutput([...tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch), m, n], 'float32')
  // B's panel, 8 floats for a partial row, and a transposed A's blocks of 4 columns.
  const scratch = wasm.makeOutput([k * 8 + 8 + (transposeA ? (m - (m % 4)) * k : 0)], 'float32')
  try {
    // Offsets are read after every allocation: an allocation may grow the memory (offsets stay valid).
    const at = (t: tf.TensorInfo | undefined): number => (t === undefined ? 0 : wasm.dataIdMap.get(t.dataId).memoryOffset)
    gemm(at(a), at(b), at(out), at(bias), m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0, activation === 'relu' ? 1 : 0, at(scratch))
    return out
  } finally {
    wasm.disposeData(scratch.dataId)
  }
}

/**
 * The BatchMatMul or _FusedMatMul kernel: rxtrain's product where it applies, else `otherwise`
 * (tfjs's own kernel, with the transposes wasmKernels.ts adds).
 */
export const gemmKernel =
  (otherwise: KernelFunc): KernelFunc =>
  (args) =>
    wasmGemm(args, worthIt) ?? otherwise(args)

/** tfjs-backend-wasm's own BatchMatMul kernel (XNNPACK), kept when rxtrain's replaces it. */
let xnnpackKernel: KernelFunc | undefined

/** Records tfjs's own BatchMatMul kernel before rxtrain's replaces it (wasmKernels.ts). */
export const keepXnnpackBatchMatMul = (original: KernelFunc): void => {
  xnnpackKernel ??= original
}

/**
 * a·b by tfjs-backend-wasm's own BatchMatMul kernel (XNNPACK's fully-connected operator, cached
 * by b's tensor), for the bench's GEMM-floor row and for tests: operands in the layout XNNPACK
 * wants (no transposes). Needs the wasm backend, started by rxtrain, to be current.
 */
export const xnnpackBatchMatMul = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => {
  const kernel = xnnpackKernel
  if (kernel === undefined || tf.getBackend() !== 'wasm')
    throw rxtrainError('BackendError', "xnnpackBatchMatMul runs tfjs's wasm kernel, but the wasm backend is not current", "start it with startBackend('wasm') and activate it first.")
  return tf.tidy(() => {
    const [a3, b3] = [tf.reshape(a, [1, ...a.shape]), tf.reshape(b, [1, ...b.shape])]
    const info = kernel({ inputs: { a: a3, b: b3 }, backend: tf.backend(), attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo
    return tf.reshape(tf.engine().makeTensorFromTensorInfo(info), [a.shape[0], b.shape[1]])
  })
}
