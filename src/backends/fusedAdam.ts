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
 * pass over memory instead of twelve (on webgpu within a few ulps, where a GPU compiler contracts a
 * product and a sum; bitwise on llvmpipe). Undefined where it cannot run on these leaves (not float32,
 * shapes differ, its backend is not the engine's current one): the caller then uses the ops.
 */
export type FusedAdam = (g: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor, attrs: FusedAdamAttrs) => FusedAdamResult | undefined

/** One backend's implementation: the leaf's gradient and moments in, the three outputs out. */
export type FusedAdamKernel = (leaf: { readonly g: tf.TensorInfo; readonly mu: tf.TensorInfo; readonly nu: tf.TensorInfo }, attrs: FusedAdamAttrs, backend: unknown) => tf.TensorInfo[]

// Per kernel and engine backend, whether its backend object can run the kernel (wasm: its memory is reachable).
const usable = new Map<string, (backend: unknown) => boolean>()

/** Whether the engine backend `name` is the current one and has a `kernelName` it can run. */
const runnable = (name: string, kernelName = FUSED_ADAM): boolean =>
  tf.getBackend() === name && tf.getKernel(kernelName, name) !== undefined && (usable.get(`${kernelName}/${name}`)?.(tf.backend()) ?? true)

const fusable = (g: tf.Tensor, ...others: readonly tf.Tensor[]): boolean =>
  g.dtype === 'float32' && others.every((t) => t.dtype === 'float32' && tf.util.arraysEqual(g.shape, t.shape))

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

/** Registers `kernelFunc` as `kernelName` of `backendName` (once), with whether its backend object can run it. */
const registerOnce = (kernelName: string, backendName: string, kernelFunc: tf.KernelFunc, canRun: (backend: unknown) => boolean): void => {
  usable.set(`${kernelName}/${backendName}`, canRun)
  if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc })
}

/**
 * Registers `kernel` as the fused Adam kernel of `backendName` (once) and returns the step for
 * that backend's record; where `canRun` says the backend object cannot run it, Adam runs op by op.
 */
export const registerFusedAdam = (backendName: string, kernel: FusedAdamKernel, canRun: (backend: unknown) => boolean = () => true): FusedAdam => {
  registerOnce(FUSED_ADAM, backendName, ({ inputs, backend, attrs }) => kernel(inputs as Parameters<FusedAdamKernel>[0], attrs as unknown as FusedAdamAttrs, backend), canRun)
  return fusedAdamOn(backendName)
}

/** The kernel that computes one leaf's Adam moments and its new parameter in one pass (Adam, learning rate and the update's application). */
export const FUSED_ADAM_STEP = 'RxtrainFusedAdamStep'

/** A fused Adam step's constants: Adam's, and the learning rate's factor `scale` (= -lr). */
export interface FusedAdamStepAttrs extends FusedAdamAttrs {
  readonly scale: number
}

/** The fused step's outputs: the new moments and the new parameter. */
export type FusedAdamStepResult = readonly [mu: tf.Tensor, nu: tf.Tensor, param: tf.Tensor]

/**
 * A backend's fused Adam step with its learning rate and application for one leaf
 * (`Backend.kernels.adamStep`): Adam's moments and update as `FusedAdam` computes them, then
 *
 *     param' = param + update scale
 *
 * rounded as `tf.add(param, tf.mul(update, scale))` rounds (bitwise the same parameters as
 * `optim.adam` followed by `applyUpdates`), reading and writing seven arrays once instead of eleven
 * passes. Undefined where it cannot run on these leaves: the caller then computes them op by op.
 */
export type FusedAdamStep = (g: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor, param: tf.Tensor, attrs: FusedAdamStepAttrs) => FusedAdamStepResult | undefined

/** One backend's implementation of the fused step: the leaf's gradient, moments and parameter in, three outputs out. */
export type FusedAdamStepKernel = (
  leaf: { readonly g: tf.TensorInfo; readonly mu: tf.TensorInfo; readonly nu: tf.TensorInfo; readonly param: tf.TensorInfo },
  attrs: FusedAdamStepAttrs,
  backend: unknown,
) => tf.TensorInfo[]

/** The fused Adam step of the engine backend `backendName` (declines while another backend is current). */
export const fusedAdamStepOn =
  (backendName: string): FusedAdamStep =>
  (g, mu, nu, param, attrs) =>
    fusable(g, mu, nu, param) && runnable(backendName, FUSED_ADAM_STEP)
      ? (tf.engine().runKernel(FUSED_ADAM_STEP, { g, mu, nu, param }, attrs as unknown as tf.NamedAttrMap) as unknown as FusedAdamStepResult)
      : undefined

/** Registers `kernel` as the fused Adam step of `backendName` (once) and returns the step for its record (`kernels.adamStep`). */
export const registerFusedAdamStep = (backendName: string, kernel: FusedAdamStepKernel, canRun: (backend: unknown) => boolean = () => true): FusedAdamStep => {
  registerOnce(
    FUSED_ADAM_STEP,
    backendName,
    ({ inputs, backend, attrs }) => kernel(inputs as Parameters<FusedAdamStepKernel>[0], attrs as unknown as FusedAdamStepAttrs, backend),
    canRun,
  )
  return fusedAdamStepOn(backendName)
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
