/**
 * Dynamic loss-scaling memory (plain numbers, so it checkpoints as it is). With policies that do
 * not scale, the scale stays 1.
 *
 * @example
 * const policy = resolvePrecision('16-mixed')
 * let s: LossScale = policy.initScale()   // { scale: 65536, goodSteps: 0 }
 * s = policy.nextScale(s, false)          // a step whose gradients overflowed: { scale: 32768, goodSteps: 0 }
 */
export interface LossScale {
  readonly scale: number
  /** Consecutive finite optimizer steps since the scale last changed. */
  readonly goodSteps: number
}
