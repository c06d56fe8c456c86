import { describe, expect, it } from 'vitest'
import { foldIn, key, keyEquals, randomBits, split, threefry2x32 } from '../../src/random/key.js'
import { normal, permutation, uniform01 } from '../../src/random/sample.js'

describe('key', () => {
  it('matches the Threefry-2x32-20 known-answer vectors of Random123', () => {
    // kat_vectors from Random123: threefry2x32_20, key 0/0 counter 0/0 and the all-ones case.
    const out = new Uint32Array(2)
    threefry2x32(0, 0, 0, 0, out)
    expect(Array.from(out)).toEqual([0x6b200159, 0x99ba4efe])
    threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out)
    expect(Array.from(out)).toEqual([0x1cb996fc, 0xbb002be7])
    threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, out)
    expect(Array.from(out)).toEqual([0xc4923a9c, 0x483df7a0])
  })

  it('is a pure function of the seed', () => {
    expect(randomBits(key(7), 5)).toEqual(randomBits(key(7), 5))
    expect(randomBits(key(7), 5)).not.toEqual(randomBits(key(8), 5))
  })

  it('splits and folds into distinct keys', () => {
    const [a, b] = split(key(1))
    expect(keyEquals(a!, b!)).toBe(false)
    expect(keyEquals(foldIn(key(1), 0), foldIn(key(1), 1))).toBe(false)
    expect(keyEquals(foldIn(key(1), 3), foldIn(key(1), 3))).toBe(true)
    expect(keyEquals(split(key(1))[0]!, foldIn(key(1), 0))).toBe(false)
  })

  it('counter mode: a prefix of a longer draw equals the shorter draw', () => {
    expect(Array.from(randomBits(key(3), 7))).toEqual(Array.from(randomBits(key(3), 10)).slice(0, 7))
  })
})

describe('samplers', () => {
  it('uniform01 lies in [0, 1) with mean near 1/2', () => {
    const u = uniform01(key(0), 100_000)
    let sum = 0
    for (const v of u) {
      expect(v >= 0 && v < 1).toBe(true)
      sum += v
    }
    expect(sum / u.length).toBeCloseTo(0.5, 2)
  })

  it('normal has mean 0 and variance 1', () => {
    const z = normal(key(0), 100_001)
    const mean = z.reduce((a, b) => a + b, 0) / z.length
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length
    expect(Math.abs(mean)).toBeLessThan(0.01)
    expect(Math.abs(variance - 1)).toBeLessThan(0.02)
  })

  it('permutation contains every index once and depends on the key', () => {
    const p = permutation(key(5), 1000)
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(Array.from(p)).not.toEqual(Array.from(permutation(key(6), 1000)))
  })
})
