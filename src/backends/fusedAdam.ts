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
 * A backend's fused Adam step for one leaf (`Backend.kernels.adam`):
 *
 *     mu' = mu b1 + g c1      nu' = nu b2 + (g g) c2      update = (mu' / k1) / (sqrt(nu' / k2) + eps)
 *
 * Each operation is rounded to float32 in the order the op-by-op version applies them, so the
 * results are bitwise the same as from `tf.add(tf.mul(mu, b1), tf.mul(g, c1))` and so on, at one
 * pass over memory instead of twelve. Undefined where it cannot run on these leaves (not float32,
 * shapes differ, its backend is not the engine's current one): the caller then uses the ops.
 */
export type FusedAdam = (g: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor, attrs: FusedAdamAttrs) => FusedAdamResult | undefined

/** One backend's implementation: the leaf's gradient and moments in, the three outputs out. */
export type FusedAdamKernel = (leaf: { readonly g: tf.TensorInfo; readonly mu: tf.TensorInfo; readonly nu: tf.TensorInfo }, attrs: FusedAdamAttrs, backend: unknown) => tf.TensorInfo[]

// Per engine backend, whether its backend object can run the kernel (wasm: its memory is reachable).
const usable = new Map<string, (backend: unknown) => boolean>()

/** Whether the engine backend `name` is the current one and has a kernel it can run. */
const runnable = (name: string): boolean =>
  tf.getBackend() === name && tf.getKernel(FUSED_ADAM, name) !== undefined && (usable.get(name)?.(tf.backend()) ?? true)

const fusable = (g: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor): boolean =>
  g.dtype === 'float32' && mu.dtype === 'float32' && nu.dtype === 'float32' && tf.util.arraysEqual(g.shape, mu.shape) && tf.util.arraysEqual(g.shape, nu.shape)

const run = (g: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor, attrs: FusedAdamAttrs): FusedAdamResult =>
  tf.engine().runKernel(FUSED_ADAM, { g, mu, nu }, attrs as unknown as tf.NamedAttrMap) as unknown as FusedAdamResult

/**
 * The fused Adam step of the engine backend `backendName`, as its backend record offers it: it
 * runs only while that backend is the engine's current one (tfjs dispatches a kernel to the
 * current backend), and declines otherwise.
 */
export const fusedAdamOn =
  (backendName: string): FusedAdam =>
  (g, mu, nu, attrs) =>
    fusable(g, mu, nu) && runnable(backendName) ? run(g, mu, nu, attrs) : undefined

/**
 * Registers `kernel` as the fused Adam kernel of `backendName` (once) and returns the step for
 * that backend's record; where `canRun` says the backend object cannot run it, Adam runs op by op.
 */
export const registerFusedAdam = (backendName: string, kernel: FusedAdamKernel, canRun: (backend: unknown) => boolean = () => true): FusedAdam => {
  usable.set(backendName, canRun)
  if (tf.getKernel(FUSED_ADAM, backendName) === undefined)
    tf.registerKernel({
      kernelName: FUSED_ADAM,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => kernel(inputs as Parameters<FusedAdamKernel>[0], attrs as unknown as FusedAdamAttrs, backend),
    })
  return fusedAdamOn(backendName)
}

/** Whether the engine's current backend has the fused kernel (the engine's view; the core asks the backend record's `kernels.adam`). */
export const hasFusedAdam = (): boolean => runnable(tf.getBackend())

/**
 * The fused step on the engine's current backend, where it has one (the engine's view, for tests
 * and tools; the core uses the backend record's `kernels.adam`).
 *
 * @example
 * const fused = fusedAdam(g, mu, nu, { b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, k1: 0.1, k2: 0.001, eps: 1e-8 })
 */
export const fusedAdam: FusedAdam = (g, mu, nu, attrs) => fusedAdamOn(tf.getBackend())(g, mu, nu, attrs)
