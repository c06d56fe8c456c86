import { type Key, foldIn, randomBits } from './key.js'

/**
 * Host-side samplers: pure functions from a key to typed arrays. They run in JavaScript, not in
 * a tfjs kernel, so the same key gives the same numbers on every backend.
 */

const TWO_POW_M24 = 2 ** -24
const TWO_POW_M32 = 2 ** -32

/**
 * `n` floats uniform in [0, 1), with float32's 24 bits of precision.
 *
 * @example
 * const u = random.uniform01(key(0), 1000) // Float32Array(1000), every value in [0, 1)
 */
export const uniform01 = (k: Key, n: number): Float32Array => {
  const bits = randomBits(k, n)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = ((bits[i] as number) >>> 8) * TWO_POW_M24
  return out
}

/**
 * `n` floats uniform in [low, high).
 *
 * @example
 * const limit = Math.sqrt(6 / (784 + 128)) // Glorot uniform
 * const kernel = tf.tensor(random.uniform(key(0), 784 * 128, -limit, limit), [784, 128])
 */
export const uniform = (k: Key, n: number, low = 0, high = 1): Float32Array => {
  const u = uniform01(k, n)
  const width = high - low
  for (let i = 0; i < n; i++) u[i] = low + (u[i] as number) * width
  return u
}

/**
 * `n` standard normal floats (Box–Muller on pairs of uniforms), scaled by `std`, shifted by `mean`.
 *
 * @example
 * const noise = tf.tensor(random.normal(ctx.key, 32 * 784, 0, 0.1), [32, 784])
 * const noisy = tf.add(x, noise) // input noise for a denoising step
 */
export const normal = (k: Key, n: number, mean = 0, std = 1): Float32Array => {
  const bits = randomBits(k, n + (n % 2))
  const out = new Float32Array(n)
  for (let i = 0; i < n; i += 2) {
    // 1 - u keeps the logarithm's argument in (0, 1].
    const u1 = 1 - (bits[i] as number) * TWO_POW_M32
    const u2 = (bits[i + 1] as number) * TWO_POW_M32
    const r = Math.sqrt(-2 * Math.log(u1))
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2)
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2)
  }
  return out
}

/**
 * Normal floats redrawn until they fall within two standard deviations (the truncated normal
 * used by Keras' `truncatedNormal` initialisers).
 *
 * @example
 * const embedding = tf.tensor(random.truncatedNormal(key(0), 1000 * 64, 0, 0.02), [1000, 64]) // within ±0.04
 */
export const truncatedNormal = (k: Key, n: number, mean = 0, std = 1): Float32Array => {
  const out = new Float32Array(n)
  let filled = 0
  let round = 0
  while (filled < n) {
    const draw = normal(foldIn(k, round++), 2 * (n - filled) + 8)
    for (let i = 0; i < draw.length && filled < n; i++) {
      const z = draw[i] as number
      if (Math.abs(z) <= 2) out[filled++] = mean + std * z
    }
  }
  return out
}

/**
 * A random permutation of 0..n-1 (Fisher–Yates driven by the key).
 *
 * @example
 * const order = random.permutation(foldIn(key(0), 5), 60_000) // epoch 5's shuffle of 60 000 examples
 * const firstBatch = order.subarray(0, 32)
 */
export const permutation = (k: Key, n: number): Int32Array => {
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  const bits = randomBits(k, Math.max(n, 1))
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((bits[i] as number) * TWO_POW_M32 * (i + 1))
    const t = out[i] as number
    out[i] = out[j] as number
    out[j] = t
  }
  return out
}

/**
 * `n` Bernoulli draws: 1 with probability `p`, else 0.
 *
 * @example
 * const keep = tf.tensor(random.bernoulli(ctx.key, 32 * 784, 0.9), [32, 784])
 * const dropped = tf.div(tf.mul(x, keep), 0.9) // inverted dropout, rate 0.1
 */
export const bernoulli = (k: Key, n: number, p: number): Float32Array => {
  const u = uniform01(k, n)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = (u[i] as number) < p ? 1 : 0
  return out
}
