import type { BackendName } from './backendName.js'

/**
 * Lightning's `accelerator` option: a kind of device (`'auto'`, `'gpu'`) or a backend by name.
 * - `'auto'` (default): the first that initialises of `tensorflow-gpu`, `webgpu` on a hardware
 *   adapter, `tensorflow`, `wasm`, `cpu`.
 * - `'gpu'`: `tensorflow-gpu`, else `webgpu` on a hardware adapter; an error naming both
 *   otherwise.
 * - a backend name: that backend or an error (`'webgpu'` accepts a software adapter such as
 *   Mesa's llvmpipe, which is slow but runs the real WebGPU kernels).
 */
export type Accelerator = 'auto' | 'gpu' | BackendName

/** A backend that `auto` or `gpu` tried and passed over, and why. */
export interface SkippedBackend {
  readonly backend: BackendName
  readonly reason: string
}

/** What an accelerator option resolved to (the `fitStart` event carries it). */
export interface AcceleratorChoice {
  /** The option's value; `'env'` when the run was handed an initialised backend. */
  readonly requested: Accelerator | 'env'
  readonly backend: BackendName
  readonly description: string
  /** The backends tried before it, in order, with the reason each was passed over. */
  readonly skipped: readonly SkippedBackend[]
}

