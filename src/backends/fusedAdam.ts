import * as tf from '@tensorflow/tfjs-core'

/** The kernel that computes one leaf's Adam moments and update in one pass (registered per backend). */
export const FUSED_ADAM = 'RxtrainFusedAdam'

/**
 * One Adam step's constants. The kernels round each to float32, as `tf.scalar` does for the
 * op-by-op version.
 */
export interface FusedAdamAttrs {
  readonly b1: number
  /** 1 - b1 */
  readonly c1: number
  readonly b2: number
  /** 1 - b2 */
  readonly c2: number
  /** The bias correction 1 - b1^t. */
  readonly k1: number
  /** The bias correction 1 - b2^t. */
  readonly k2: number
  readonly eps: number
}

/** The fused step's outputs: the new moments and the update. */
export type FusedAdamResult = readonly [mu: tf.Tensor, nu: tf.Tensor, update: tf.Tensor]

/**
 * Adam's step for one float32 leaf in one kernel, where the active backend has one (wasm, cpu):
 *
 *     mu' = mu b1 + g c1      nu' = nu b2 + (g g) c2      update = (mu' / k1) / (sqrt(nu' / k2) + eps)
 *
 * Each operation is rounded to float32 in the order the op-by-op version applies them, so the
 * results are bitwise the same as from `tf.add(tf.mul(mu, b1), tf.mul(g, c1))` and so on, at one
 * pass over memory instead of twelve. Undefined where the backend has no such kernel, or a leaf is
 * not float32: the caller then uses the ops.
 *
 * @example
 * const fused = fusedAdam(g, mu, nu, { b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, k1: 0.1, k2: 0.001, eps: 1e-8 })
 */
export const fusedAdam = (g: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor, attrs: FusedAdamAttrs): FusedAdamResult | undefined => {
  if (g.dtype !== 'float32' || mu.dtype !== 'float32' || nu.dtype !== 'float32') return undefined
  if (!tf.util.arraysEqual(g.shape, mu.shape) || !tf.util.arraysEqual(g.shape, nu.shape)) return undefined
  if (!hasFusedAdam()) return undefined
  return tf.engine().runKernel(FUSED_ADAM, { g, mu, nu }, attrs as unknown as tf.NamedAttrMap) as unknown as FusedAdamResult
}

/** One backend's implementation: the leaf's gradient and moments in, the three outputs out. */
export type FusedAdamKernel = (leaf: { readonly g: tf.TensorInfo; readonly mu: tf.TensorInfo; readonly nu: tf.TensorInfo }, attrs: FusedAdamAttrs, backend: unknown) => tf.TensorInfo[]

// Per backend, whether the active backend object can run the kernel (wasm: its memory is reachable).
const usable = new Map<string, (backend: unknown) => boolean>()

/**
 * Registers `kernel` as the fused Adam kernel of `backendName` (once); where `canRun` says the
 * backend object cannot run it, Adam runs op by op.
 */
export const registerFusedAdam = (backendName: string, kernel: FusedAdamKernel, canRun: (backend: unknown) => boolean = () => true): void => {
  usable.set(backendName, canRun)
  if (tf.getKernel(FUSED_ADAM, backendName) !== undefined) return
  tf.registerKernel({
    kernelName: FUSED_ADAM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => kernel(inputs as Parameters<FusedAdamKernel>[0], attrs as unknown as FusedAdamAttrs, backend),
  })
}

/** Whether the active backend has the fused kernel. */
export const hasFusedAdam = (): boolean => {
  const name = tf.getBackend()
  return tf.getKernel(FUSED_ADAM, name) !== undefined && (usable.get(name)?.(tf.backend()) ?? true)
}
