/**
 * Dynamic loss-scaling memory (plain numbers, so it checkpoints as it is). With policies that do
 * not scale, the scale stays 1.
 */
export interface LossScale {
  readonly scale: number
  /** Consecutive finite optimizer steps since the scale last changed. */
  readonly goodSteps: number
}
