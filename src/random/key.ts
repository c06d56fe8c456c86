/**
 * Splittable, counter-based random keys (the JAX design): a key is two 32-bit words, and every
 * random quantity is a pure function of a key. `split` and `foldIn` derive independent keys, so a
 * training run is a function of its seed: the init key, each epoch's shuffle key and each step's
 * dropout key are all derived from it, and resuming needs no hidden generator state.
 *
 * The mixing function is Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011), written with 32-bit integer arithmetic.
 *
 * @example
 * const root = key(42)
 * const [initKey, dataKey] = split(root)
 * const epochKey = foldIn(dataKey, 3)
 */
export type Key = readonly [number, number] & { readonly __brand: 'rxtrain.Key' }

const asKey = (a: number, b: number): Key => [a >>> 0, b >>> 0] as unknown as Key

/**
 * A root key from an integer seed (any safe integer; negative seeds are fine).
 *
 * @example
 * const initial = module.init(key(42)) // the same seed gives the same parameters
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`key: seed must be a safe integer, got ${seed}`)
  const hi = Math.floor(seed / 2 ** 32)
  return asKey(hi, seed >>> 0)
}

/**
 * Rebuilds a key from its two words (e.g. read from a checkpoint).
 *
 * @example
 * const saved = JSON.stringify(key(42))                                      // "[0,42]"
 * const restored = random.keyFromWords(JSON.parse(saved) as [number, number])
 * random.keyEquals(restored, key(42))                                         // true
 */
export const keyFromWords = (words: readonly [number, number]): Key => asKey(words[0], words[1])

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const

/** Threefry-2x32-20 of the counter (x0, x1) under key (k0, k1); writes the two words to `out`. */
export const threefry2x32 = (k0: number, k1: number, x0: number, x1: number, out: Uint32Array, at = 0): void => {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0]
  let a = (x0 + (ks[0] as number)) >>> 0
  let b = (x1 + (ks[1] as number)) >>> 0
  for (let block = 0; block < 5; block++) {
    for (let r = 0; r < 4; r++) {
      const rot = ROTATIONS[(block % 2) * 4 + r] as number
      a = (a + b) >>> 0
      b = ((b << rot) | (b >>> (32 - rot))) >>> 0
      b = (b ^ a) >>> 0
    }
    const s = block + 1
    a = (a + (ks[s % 3] as number)) >>> 0
    b = (b + (ks[(s + 1) % 3] as number) + s) >>> 0
  }
  out[at] = a
  out[at + 1] = b
}

// Domain tags keep the counters of split, foldIn and bit generation apart.
const SPLIT = 0x73706c74
const FOLD = 0x666f6c64

const scratch = new Uint32Array(2)

/** `n` keys as a tuple when `n` is a literal (so `const [a, b, c] = split(k, 3)` names three keys), else an array. */
export type Keys<N extends number, Built extends Key[] = []> = number extends N ? Key[] : Built['length'] extends N ? Built : Keys<N, [...Built, Key]>

/**
 * `n` independent keys derived from `k` (default two): a tuple for a literal `n`.
 *
 * @example
 * const [initKey, dataKey] = split(key(0))      // [Key, Key]
 * const [a, b, c] = split(ctx.key, 3)           // three keys for three dropout layers
 */
export const split = <N extends number = 2>(k: Key, n: N = 2 as N): Keys<N> => {
  const keys: Key[] = []
  for (let i = 0; i < n; i++) {
    threefry2x32(k[0], k[1], i, SPLIT, scratch)
    keys.push(asKey(scratch[0] as number, scratch[1] as number))
  }
  return keys as Keys<N>
}

/**
 * A key derived from `k` and an integer (an epoch, a step, a layer index).
 *
 * @example
 * const epochKey = foldIn(key(0), 3)                          // the shuffle key of epoch 3
 * const order = random.permutation(epochKey, 60_000)          // the same order on every run
 */
export const foldIn = (k: Key, data: number): Key => {
  threefry2x32(k[0], k[1], data >>> 0, (FOLD ^ Math.floor(data / 2 ** 32)) >>> 0, scratch)
  return asKey(scratch[0] as number, scratch[1] as number)
}

/**
 * `n` uniformly random 32-bit words from `k` (counter mode: word i depends only on k and i).
 *
 * @example
 * const words = random.randomBits(key(7), 4) // Uint32Array(4)
 * const seedForAnotherLibrary = words[0] ?? 0
 */
export const randomBits = (k: Key, n: number): Uint32Array => {
  const out = new Uint32Array(n + (n % 2))
  for (let i = 0; i < out.length; i += 2) threefry2x32(k[0], k[1], i / 2, 0, out, i)
  return n % 2 === 0 ? out : out.subarray(0, n)
}

/**
 * Keys are equal when their words are.
 *
 * @example
 * random.keyEquals(foldIn(key(0), 1), foldIn(key(0), 1)) // true: keys are values
 * random.keyEquals(foldIn(key(0), 1), foldIn(key(0), 2)) // false
 */
export const keyEquals = (a: Key, b: Key): boolean => a[0] === b[0] && a[1] === b[1]
