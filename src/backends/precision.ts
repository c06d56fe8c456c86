import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { mapTensors, type Params } from '../tree/tree.js'
import type { Backend } from './backend.js'
import { castHalf, type HalfRounding } from './castHalf.js'
import type { FiniteCheck } from './finite.js'
import type { HalfFormat } from './halfFloat.js'

/**
 * Lightning's `precision` option, by its canonical names:
 * - `'32-true'`: float32 everywhere (the default).
 * - `'16-mixed'` / `'bf16-mixed'`: float32 parameters (master weights); the inputs of matmuls and
 *   convolutions are rounded to float16 / bfloat16, and so are the gradients flowing back
 *   through them. `'16-mixed'` adds a dynamic loss scaler, because float16 gradients underflow.
 * - `'16-true'` / `'bf16-true'`: as mixed, and the training state itself (parameters, optimizer
 *   state, accumulated gradients) is kept rounded to the half format after every step.
 *
 * tfjs has no half-precision dtype and no backend computes in one, so every half policy is an
 * emulation: it reproduces the numerics (rounding, underflow, overflow) and halves checkpoint
 * files, and it is not faster than `'32-true'` (it is a little slower).
 *
 * @example
 * const precision: PrecisionName = process.env.HALF === '1' ? 'bf16-mixed' : '32-true'
 * fit(module, { train, val }, { maxEpochs: 3, precision }).subscribe()
 */
export type PrecisionName = '32-true' | '16-mixed' | 'bf16-mixed' | '16-true' | 'bf16-true'

export const precisionNames: readonly PrecisionName[] = ['32-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true']

/** Lightning's short spellings: `16` and `'16'` are `'16-mixed'`, `'bf16'` is `'bf16-mixed'`, `32` is `'32-true'`. */
export const precisionAliases = { '16': '16-mixed', bf16: 'bf16-mixed', '32': '32-true' } as const satisfies Record<string, PrecisionName>

/** What the `precision` option accepts: a name, an alias, or the numbers 16 and 32. */
export type PrecisionInput = PrecisionName | keyof typeof precisionAliases | 16 | 32

/**
 * The dtype the training state is stored in (checkpoints) by default.
 *
 * @example
 * const dtype: StorageDtype = resolvePrecision('16-true').storageDtype   // 'float16'
 * fit(module, { train, val }).pipe(checkpoint({ dtype: 'bfloat16' })).subscribe()   // half-size weights
 */
export type StorageDtype = 'float32' | 'float16' | 'bfloat16'

export type { LossScale } from '../core/lossScale.js'
import type { LossScale } from '../core/lossScale.js'

/** The dynamic loss scaler's settings (PyTorch's `GradScaler` defaults). */
export interface LossScalerOptions {
  readonly initScale: number
  /** The scale is multiplied by this after `growthInterval` finite steps in a row. */
  readonly growthFactor: number
  /** ... and by this after a step whose gradients overflowed (that step is skipped). */
  readonly backoffFactor: number
  readonly growthInterval: number
}

export const defaultLossScaler: LossScalerOptions = { initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 }

/**
 * How a step computes and stores numbers. The loop applies it around each step:
 * `castCompute` is handed to the step in its context (layers round their matmul and convolution
 * inputs with it), `scaleLoss` runs before differentiation and `unscale` on the gradients; a
 * policy that `skipsNonFinite` skips an optimizer step whose gradients are not all finite and
 * moves the scale with `nextScale`; `storeState` rounds the training state after each update.
 *
 * @example
 * const precision: Precision = resolvePrecision('16-mixed')
 * const step = trainStep(module, optim.adam({ lr: 1e-3 }), { precision })
 * precision.storageDtype   // 'float32': mixed policies keep float32 master weights
 */
export interface Precision {
  readonly name: PrecisionName
  /** The half format the policy computes in, if any. */
  readonly computeFormat: HalfFormat | undefined
  /** The dtype checkpoints store tensors in by default (lossless for the policy's state). */
  readonly storageDtype: StorageDtype
  initScale(): LossScale
  castCompute(x: tf.Tensor): tf.Tensor
  scaleLoss(loss: tf.Scalar, s: LossScale): tf.Scalar
  unscale(grads: Params, s: LossScale): Params
  /** The scale after an optimizer step whose gradients were (or were not) all finite. */
  nextScale(s: LossScale, gradsFinite: boolean): LossScale
  /** True when an optimizer step with non-finite gradients is skipped (and `nextScale` is told). */
  readonly skipsNonFinite: boolean
  /**
   * How the skip tells whether the gradients are finite: the run's backend's check. Without
   * `onHost` (webgpu in Node) the skip is decided on the device (see `skipNonFinite`); absent, on
   * the host of the engine's current backend.
   */
  readonly finite?: FiniteCheck
  /** The training state as the policy keeps it: rounded to the half format for `-true` policies. */
  storeState<T>(state: T): T
}

const identity = <T>(x: T): T => x

/** Full float32 everywhere: every hook is the identity. */
export const float32Precision: Precision = {
  name: '32-true',
  computeFormat: undefined,
  storageDtype: 'float32',
  initScale: () => ({ scale: 1, goodSteps: 0 }),
  castCompute: identity,
  scaleLoss: identity,
  unscale: identity,
  nextScale: identity,
  skipsNonFinite: false,
  storeState: identity,
}

/**
 * The dynamic loss scaler's rule: halve (by `backoffFactor`) on overflow, double (by
 * `growthFactor`) after `growthInterval` clean steps in a row.
 *
 * @example
 * nextLossScale(defaultLossScaler)({ scale: 65536, goodSteps: 10 }, false)   // { scale: 32768, goodSteps: 0 }
 */
export const nextLossScale =
  (o: LossScalerOptions) =>
  (s: LossScale, gradsFinite: boolean): LossScale => {
    if (!gradsFinite) return { scale: s.scale * o.backoffFactor, goodSteps: 0 }
    const goodSteps = s.goodSteps + 1
    return goodSteps >= o.growthInterval ? { scale: s.scale * o.growthFactor, goodSteps: 0 } : { scale: s.scale, goodSteps }
  }

const halfPolicy = (name: PrecisionName, format: HalfFormat, trueHalf: boolean, scaler: LossScalerOptions | undefined, round: HalfRounding, finite: FiniteCheck | undefined): Precision => {
  const cast = (x: tf.Tensor) => round(x, format)
  return {
    name,
    ...(finite !== undefined && { finite }),
    computeFormat: format,
    storageDtype: trueHalf ? format : 'float32',
    initScale: () => ({ scale: scaler?.initScale ?? 1, goodSteps: 0 }),
    castCompute: cast,
    scaleLoss: (loss, s) => (s.scale === 1 ? loss : tf.mul(loss, s.scale)),
    unscale: (grads, s) => (s.scale === 1 ? grads : mapTensors(grads, (g) => tf.div(g, s.scale))),
    nextScale: scaler === undefined ? identity : nextLossScale(scaler),
    // bf16 has float32's range: its gradients overflow only where float32's would. A loss scaler
    // is not needed, and non-finite steps are left to the loop's usual handling.
    skipsNonFinite: scaler !== undefined,
    storeState: trueHalf ? <T>(state: T) => mapTensors(state, (t) => (t.dtype === 'float32' ? round(t, format) : t)) : identity,
  }
}

/** The dtype checkpoints store a policy's state in (no backend needed). */
export const storageDtypeOf = (name: PrecisionName): StorageDtype => (name === '16-true' ? 'float16' : name === 'bf16-true' ? 'bfloat16' : 'float32')

/**
 * The precision policy for a name (`scaler` tunes `'16-mixed'`'s loss scaler) on the run's
 * backend, whose record says how it rounds to a half format (`roundHalf`: on the host, or on the
 * device for webgpu) and how it checks gradients (`finite`: a backend without host reads skips
 * non-finite steps on the device). A half policy on a backend that cannot round is a
 * `ConfigError`. Without a backend, the half policies round and check on the host (`castHalf`),
 * which needs a backend that reads synchronously.
 *
 * @example
 * resolvePrecision('16-mixed').initScale()   // { scale: 65536, goodSteps: 0 }
 * resolvePrecision('bf16-mixed', undefined, backend)   // rounds with backend.roundHalf
 */
export const resolvePrecision = (
  name: PrecisionName,
  scaler: LossScalerOptions = defaultLossScaler,
  backend?: Pick<Backend, 'name' | 'roundHalf'> & Partial<Pick<Backend, 'finite'>>,
): Precision => {
  if (name === '32-true') return float32Precision
  const round = backend === undefined ? castHalf : backend.roundHalf
  const finite = backend?.finite
  if (round === undefined)
    throw rxtrainError(
      'ConfigError',
      `precision '${name}' rounds values to a half format, which the ${backend?.name} backend cannot do (it has neither synchronous reads nor a rounding kernel)`,
      "use precision: '32-true' on this backend, or a half policy on cpu, wasm, webgpu or tensorflow.",
      { field: 'precision', backend: backend?.name },
    )
  switch (name) {
    case '16-mixed':
      return halfPolicy(name, 'float16', false, scaler, round, finite)
    case 'bf16-mixed':
      return halfPolicy(name, 'bfloat16', false, undefined, round, finite)
    case '16-true':
      // Lightning's 16-true has no scaler either: the parameters themselves are float16.
      return halfPolicy(name, 'float16', true, undefined, round, finite)
    case 'bf16-true':
      return halfPolicy(name, 'bfloat16', true, undefined, round, finite)
  }
}

/** The canonical name of a `precision` option value, or undefined when it names none. */
export const canonicalPrecision = (input: unknown): PrecisionName | undefined => {
  const key = typeof input === 'number' ? String(input) : input
  if (typeof key !== 'string') return undefined
  if ((precisionNames as readonly string[]).includes(key)) return key as PrecisionName
  return (precisionAliases as Record<string, PrecisionName>)[key]
}
