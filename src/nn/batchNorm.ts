import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { split } from '../random/key.js'
import { type Initializer, ones, zeros } from './init.js'
import type { Layer } from './layer.js'
import { shapeError, sizeOf } from './shapes.js'

/**
 * Options of `batchNorm` (PyTorch's defaults and conventions).
 *
 * @example
 * const options: nn.BatchNormOptions = { momentum: 0.01, eps: 1e-3 }   // Keras' BatchNormalization defaults
 * nn.batchNorm(options)
 */
export interface BatchNormOptions {
  /**
   * Weight of the new batch statistic in the running average (default 0.1):
   * running = (1 − momentum)·running + momentum·batch. This is PyTorch's convention; Keras'
   * `momentum = 0.99` corresponds to 0.01 here.
   */
  readonly momentum?: number
  /** Added to the variance before the square root (default 1e-5). */
  readonly eps?: number
  /**
   * The channel axis of the input tensor, batch included (default −1, the last axis of NHWC
   * images and of [batch, features]). Statistics are taken over every other axis.
   */
  readonly axis?: number
  /** Scale initialiser (default `ones`). */
  readonly gammaInit?: Initializer
  /** Shift initialiser (default `zeros`). */
  readonly betaInit?: Initializer
}

/**
 * Trainable variables of `batchNorm`: per-channel scale `gamma` and shift `beta`, each [channels].
 *
 * @example
 * const { params } = nn.batchNorm().init(key(0), [28, 28, 32])
 * const { gamma, beta }: nn.BatchNormParams = params   // [32] each
 */
export type BatchNormParams = { readonly gamma: tf.Tensor; readonly beta: tf.Tensor }

/**
 * Non-trainable state of `batchNorm`: running per-channel mean and (unbiased) variance, each [channels].
 *
 * @example
 * const { state } = nn.batchNorm().init(key(0), [28, 28, 32])
 * const { runningMean, runningVar }: nn.BatchNormState = state   // zeros and ones, [32] each
 */
export type BatchNormState = { readonly runningMean: tf.Tensor; readonly runningVar: tf.Tensor }

/** The non-negative channel axis of a rank-`rank` tensor (batch included), or −1 when invalid. */
const channelAxisOf = (axis: number, rank: number): number => {
  const a = axis < 0 ? rank + axis : axis
  return Number.isInteger(a) && a >= 1 && a < rank ? a : -1
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015) with PyTorch's conventions:
 * - training: normalise with the batch mean and the BIASED batch variance,
 *   y = gamma·(x − mean)/sqrt(var + eps) + beta, and return the next running statistics
 *   running = (1 − momentum)·running + momentum·stat, where the variance statistic is the
 *   UNBIASED batch variance (n/(n − 1) times the biased one, n = values per channel);
 * - evaluation: normalise with the running statistics; the state comes back unchanged.
 *
 * The state is never mutated: `apply` returns a new `{ runningMean, runningVar }` in training.
 * Training needs more than one value per channel (as in PyTorch).
 *
 * @example
 * const bn = nn.batchNorm()
 * const { params, state } = bn.init(key(0), [28, 28, 32])   // gamma, beta, runningMean, runningVar: [32]
 * const out = bn.apply({ params, state }, x, { training: true, key: key(1) })   // out.state: next running stats
 */
export const batchNorm = (options: BatchNormOptions = {}): Layer<BatchNormParams, BatchNormState> => {
  const { momentum = 0.1, eps = 1e-5, axis = -1, gammaInit = ones, betaInit = zeros } = options
  if (!(momentum >= 0 && momentum <= 1) || !(eps > 0))
    throw rxtrainError(
      'ConfigError',
      `batchNorm: momentum must be in [0, 1] and eps positive, got momentum ${momentum}, eps ${eps}`,
      'use PyTorch-style values, e.g. batchNorm({ momentum: 0.1, eps: 1e-5 }).',
      { momentum, eps },
    )
  return {
    kind: 'batchNorm',
    config: { momentum, eps, axis },
    init: (k, inputShape) => {
      const a = channelAxisOf(axis, inputShape.length + 1)
      const channels = inputShape[a - 1]
      if (a < 0 || channels === undefined)
        throw shapeError('batchNorm', ['batch', '...', 'channels'], [...inputShape], `initialise batchNorm with a feature shape that has axis ${axis} (batch included).`)
      const [gammaKey, betaKey] = split(k)
      return {
        params: { gamma: gammaInit(gammaKey, [channels]), beta: betaInit(betaKey, [channels]) },
        state: { runningMean: tf.zeros([channels]), runningVar: tf.ones([channels]) },
        outputShape: inputShape,
      }
    },
    apply: ({ params, state }, x, ctx) => {
      const channels = params.gamma.shape[0] as number
      const a = channelAxisOf(axis, x.rank)
      if (a < 0 || x.shape[a] !== channels) {
        const expected = x.rank >= 2 ? x.shape.map((d, i) => (i === 0 ? 'batch' : i === a ? channels : d)) : ['batch', channels]
        throw shapeError('batchNorm', expected, x.shape, `feed ${channels} channels on axis ${axis}, or initialise batchNorm for this input.`)
      }
      const reduceAxes = x.shape.map((_, i) => i).filter((i) => i !== a)
      const broadcast = x.shape.map((_, i) => (i === a ? channels : 1))
      const normalise = (mean: tf.Tensor, variance: tf.Tensor): tf.Tensor => {
        const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)))
        return tf.add(tf.mul(xhat, tf.reshape(params.gamma, broadcast)), tf.reshape(params.beta, broadcast))
      }
      if (!ctx.training)
        return { y: normalise(tf.reshape(state.runningMean, broadcast), tf.reshape(state.runningVar, broadcast)), state }
      const n = sizeOf(reduceAxes.map((i) => x.shape[i] as number))
      if (n < 2)
        throw rxtrainError(
          'ShapeError',
          `batchNorm: training needs more than one value per channel, got input shape [${x.shape.join(', ')}]`,
          'use a batch size above 1 in training (or evaluate with training: false).',
          { layer: 'batchNorm', actual: x.shape },
        )
      const { mean, variance } = tf.moments(x, reduceAxes, true)
      const batchMean = tf.reshape(mean, [channels])
      const unbiasedVar = tf.mul(tf.reshape(variance, [channels]), n / (n - 1))
      const m = ctx.batchNormMomentum ?? momentum
      const next: BatchNormState = {
        runningMean: tf.add(tf.mul(state.runningMean, 1 - m), tf.mul(batchMean, m)),
        runningVar: tf.add(tf.mul(state.runningVar, 1 - m), tf.mul(unbiasedVar, m)),
      }
      return { y: normalise(mean, variance), state: next }
    },
  }
}
