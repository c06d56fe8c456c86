import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type Key, foldIn } from '../random/key.js'
import { bernoulli } from '../random/sample.js'
import type { Empty, Layer } from './layer.js'
import { statelessLayer } from './stateless.js'

/** Domain tag folded into the call's key, so the mask is independent of other draws from that key. */
const DROPOUT_TAG = 0x64726f70

/**
 * The keep mask of inverted dropout for `n` elements: 1/(1 − rate) with probability 1 − rate,
 * else 0, drawn on the host from `foldIn(key, DROPOUT_TAG)`. A pure function of the key.
 */
export const dropoutMask = (k: Key, n: number, rate: number): Float32Array => {
  const mask = bernoulli(foldIn(k, DROPOUT_TAG), n, 1 - rate)
  const scale = 1 / (1 - rate)
  for (let i = 0; i < n; i++) mask[i] = (mask[i] as number) * scale
  return mask
}

/**
 * Inverted dropout: in training, zeroes each element with probability `rate` and scales the
 * survivors by 1/(1 − rate), so the expected activation is unchanged and evaluation needs no
 * rescaling. In evaluation (`ctx.training === false`) or with rate 0 it is the identity (a clone,
 * so the result may be disposed independently of the input).
 *
 * The mask is a pure function of `ctx.key`: the same key gives the same mask on every backend
 * (`sequential` gives each layer its own key with `foldIn(ctx.key, index)`).
 *
 * @example
 * nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dropout(0.5), nn.dense({ units: 10 }))
 */
export const dropout = (rate: number): Layer<Empty, Empty> => {
  if (!(rate >= 0 && rate < 1))
    throw rxtrainError('ConfigError', `dropout: rate must be in [0, 1), got ${rate}`, 'pass the probability of dropping a unit, e.g. dropout(0.5).', {
      rate,
    })
  return statelessLayer(
    'dropout',
    (s) => s,
    (x, ctx) => {
      if (!ctx.training || rate === 0) return tf.clone(x)
      const mask = tf.tensor(dropoutMask(ctx.key, x.size, rate), x.shape, 'float32')
      return tf.mul(x, mask)
    },
    { rate },
  )
}
