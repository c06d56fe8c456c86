import type { BackendName } from './backendName.js'

/**
 * Lightning's `accelerator` option: a kind of device (`'auto'`, `'gpu'`) or a backend by name.
 * - `'auto'` (default): the first that initialises of `tensorflow-gpu`, `webgpu` on a hardware
 *   adapter, `tensorflow`, `wasm`, `cpu`.
 * - `'gpu'`: `tensorflow-gpu`, else `webgpu` on a hardware adapter; an error naming both
 *   otherwise.
 * - a backend name: that backend or an error (`'webgpu'` accepts a software adapter such as
 *   Mesa's llvmpipe, which is slow but runs the real WebGPU kernels).
 *
 * @example
 * const accelerator: Accelerator = process.env.GPU === '1' ? 'gpu' : 'auto'
 * fit(module, { train, val }, { maxEpochs: 3, accelerator }).subscribe()
 */
export type Accelerator = 'auto' | 'gpu' | BackendName

/** A backend that `auto` or `gpu` tried and passed over, and why. */
export interface SkippedBackend {
  readonly backend: BackendName
  readonly reason: string
}

/**
 * What an accelerator option resolved to (the `fitStart` event carries it).
 *
 * @example
 * const started = await startBackend('auto')()
 * const choice: AcceleratorChoice | undefined = E.isRight(started) ? started.right.choice : undefined
 * console.log(choice?.backend, choice?.skipped.map((s) => s.backend))   // 'wasm' ['tensorflow-gpu', 'webgpu', 'tensorflow']
 */
export interface AcceleratorChoice {
  /** The option's value; `'env'` when the run was handed an initialised backend. */
  readonly requested: Accelerator | 'env'
  readonly backend: BackendName
  readonly description: string
  /** The backends tried before it, in order, with the reason each was passed over. */
  readonly skipped: readonly SkippedBackend[]
}

