import * as tf from '@tensorflow/tfjs-core'
import { mapParams } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'
import { requireConfig, requireInteger, requireNonNegative } from './validate.js'

/**
 * `reduceOnPlateau`'s options: PyTorch `ReduceLROnPlateau`'s, in camelCase.
 *
 * @example
 * const options: optim.PlateauOptions = { monitor: 'val/acc', mode: 'max', patience: 3, factor: 0.5 }
 * const optimizer = optim.chain(optim.adam({ lr: 1e-3 }), optim.reduceOnPlateau(options))
 */
export interface PlateauOptions {
  /** The metric to watch, as the loop logs it. Default `'val/loss'`. */
  readonly monitor?: string
  /** Whether lower (`'min'`) or higher (`'max'`) values are better. Default `'min'`. */
  readonly mode?: 'min' | 'max'
  /** Multiplier applied to the scale on a plateau, in (0, 1). Default 0.1. */
  readonly factor?: number
  /** Bad observations tolerated; the next one reduces the scale. Default 10. */
  readonly patience?: number
  /** Least change that counts as an improvement. Default 1e-4. */
  readonly threshold?: number
  /** `'rel'`: better than `best * (1 ∓ threshold)`; `'abs'`: better than `best ∓ threshold`. Default `'rel'`. */
  readonly thresholdMode?: 'rel' | 'abs'
  /** Observations to wait after a reduction before counting bad ones again. Default 0. */
  readonly cooldown?: number
  /** Floor of the scale. Default 0. */
  readonly minScale?: number
}

/**
 * The plateau detector's memory (plain numbers, so it logs and serialises).
 *
 * @example
 * const plateau = optim.reduceOnPlateau({ patience: 0, factor: 0.5 })
 * let plateauState: optim.PlateauState = plateau.init(params)         // { scale: 1, best: null, ... }
 * plateauState = plateau.observe?.(plateauState, { 'val/loss': 1.0 }) ?? plateauState
 * plateauState = plateau.observe?.(plateauState, { 'val/loss': 1.2 }) ?? plateauState // worse: scale 0.5
 */
export type PlateauState = {
  /** Current multiplier of the updates; starts at 1. */
  readonly scale: number
  /** Best monitored value so far; `null` before the first observation (JSON has no Infinity). */
  readonly best: number | null
  /** Observations in a row without improvement. */
  readonly numBadEpochs: number
  /** Observations left before bad ones count again. */
  readonly cooldownCounter: number
}

/** PyTorch's `eps`: a reduction smaller than this is ignored. */
const MIN_REDUCTION = 1e-8

/**
 * Reduces the step size when a monitored metric stops improving (PyTorch `ReduceLROnPlateau`,
 * as a transform like Optax's `contrib.reduce_on_plateau`). `update` multiplies the updates by
 * the current `scale` (initially 1; the updates pass through untouched while it is 1); `observe`,
 * called by the loop once per epoch with the epoch's metrics, applies PyTorch's rules to `metrics[monitor]`:
 * an improvement (beyond `threshold`) resets the bad count; otherwise it grows, and when it
 * exceeds `patience` the scale becomes `max(scale * factor, minScale)` and a `cooldown` starts,
 * during which bad observations are not counted. Metrics without `monitor` leave the state as it
 * is; a NaN counts as a bad observation. Reports `hyperparams → { plateauScale }`.
 *
 * Place it after `scaleByLearningRate`, so the effective learning rate is `lr * plateauScale`.
 *
 * @example
 * const optimizer = optim.chain(optim.adam({ lr: 1e-3 }), optim.reduceOnPlateau({ patience: 3, factor: 0.5 }))
 */
export const reduceOnPlateau = (options: PlateauOptions = {}): GradientTransform<PlateauState> => {
  const {
    monitor = 'val/loss',
    mode = 'min',
    factor = 0.1,
    patience = 10,
    threshold = 1e-4,
    thresholdMode = 'rel',
    cooldown = 0,
    minScale = 0,
  } = options
  const where = 'reduceOnPlateau'
  requireConfig(mode === 'min' || mode === 'max', where, 'mode', mode, "'min' or 'max'")
  const validThresholdMode = thresholdMode === 'rel' || thresholdMode === 'abs'
  requireConfig(validThresholdMode, where, 'thresholdMode', thresholdMode, "'rel' or 'abs'")
  requireConfig(Number.isFinite(factor) && factor > 0 && factor < 1, where, 'factor', factor, 'in (0, 1)')
  requireInteger(where, 'patience', patience, 0)
  requireInteger(where, 'cooldown', cooldown, 0)
  requireNonNegative(where, 'threshold', threshold)
  requireNonNegative(where, 'minScale', minScale)

  const isBetter = (value: number, best: number | null): boolean => {
    const reference = best ?? (mode === 'min' ? Infinity : -Infinity)
    if (mode === 'min') return value < (thresholdMode === 'rel' ? reference * (1 - threshold) : reference - threshold)
    return value > (thresholdMode === 'rel' ? reference * (1 + threshold) : reference + threshold)
  }

  return {
    init: () => ({ scale: 1, best: null, numBadEpochs: 0, cooldownCounter: 0 }),
    update: (updates, state) => {
      if (state.scale === 1) return [updates, state]
      const s = tf.scalar(state.scale)
      return [mapParams(updates, (t) => tf.mul(t, s)), state]
    },
    observe: (state, metrics) => {
      const value = metrics[monitor]
      if (value === undefined) return state
      const improved = isBetter(value, state.best)
      const best = improved ? value : state.best
      let numBadEpochs = improved ? 0 : state.numBadEpochs + 1
      let cooldownCounter = state.cooldownCounter
      if (cooldownCounter > 0) {
        cooldownCounter -= 1
        numBadEpochs = 0
      }
      let scale = state.scale
      if (numBadEpochs > patience) {
        const reduced = Math.max(scale * factor, minScale)
        if (scale - reduced > MIN_REDUCTION) scale = reduced
        cooldownCounter = cooldown
        numBadEpochs = 0
      }
      return { scale, best, numBadEpochs, cooldownCounter }
    },
    hyperparams: (state) => ({ plateauScale: state.scale }),
  }
}
