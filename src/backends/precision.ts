import type * as tf from '@tensorflow/tfjs-core'
import type { Params } from '../tree/tree.js'

/** Lightning's `precision` option. Only full float32 exists today; mixed policies come later. */
export type PrecisionName = '32-true'

export const precisionNames: readonly PrecisionName[] = ['32-true']

/** The dtype parameters are written in when a checkpoint is stored. */
export type StorageDtype = 'float32' | 'float16' | 'bfloat16'

/**
 * Dynamic loss-scaling memory (plain numbers, so it checkpoints as it is). With `32-true` the
 * scale stays 1.
 */
export interface LossScale {
  readonly scale: number
  /** Consecutive finite steps since the scale last changed. */
  readonly goodSteps: number
}

/**
 * How a step computes and stores numbers. The loop calls it around the gradient computation:
 * `castCompute` on a layer's matmul inputs (emulated half precision rounds them), `scaleLoss`
 * before differentiation, `unscale` on the gradients, then `nextScale` with whether they were
 * finite. tfjs has no half-precision dtype, so mixed policies can only emulate the numerics.
 */
export interface Precision {
  readonly name: PrecisionName
  readonly storageDtype: StorageDtype
  initScale(): LossScale
  castCompute(x: tf.Tensor): tf.Tensor
  scaleLoss(loss: tf.Scalar, s: LossScale): tf.Scalar
  unscale(grads: Params, s: LossScale): Params
  nextScale(s: LossScale, gradsFinite: boolean): LossScale
  /** True when the policy needs to know whether each step's gradients were finite. */
  readonly tracksFiniteness: boolean
}

/** Full float32 everywhere: every hook is the identity. */
export const float32Precision: Precision = {
  name: '32-true',
  storageDtype: 'float32',
  initScale: () => ({ scale: 1, goodSteps: 0 }),
  castCompute: (x) => x,
  scaleLoss: (loss) => loss,
  unscale: (grads) => grads,
  nextScale: (s) => s,
  tracksFiniteness: false,
}

/** The precision policy for a name. */
export const resolvePrecision = (name: PrecisionName): Precision => {
  switch (name) {
    case '32-true':
      return float32Precision
  }
}
