/**
 * Randomness as pure functions of keys (the JAX design): a `Key` is two 32-bit words; `split` and
 * `foldIn` derive independent keys; the samplers turn a key into a typed array on the host, so the
 * same key gives the same numbers on every backend. The package root re-exports this module as
 * `random` (and `Key`, `key`, `split`, `foldIn` also at the top level, since every run uses them).
 *
 * @example
 * import { type Key, key, random, split } from 'rxtrain'
 * const [a, b] = split(key(0))
 * const noise = random.normal(a, 16, 0, 0.1)      // Float32Array(16)
 * const order = random.permutation(b, 100)        // Int32Array: 0..99 shuffled
 */
export type { Key } from './key.js'
export { foldIn, key, keyEquals, keyFromWords, randomBits, split } from './key.js'
export { bernoulli, normal, permutation, truncatedNormal, uniform, uniform01 } from './sample.js'
