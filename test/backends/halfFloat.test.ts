import { f16round } from '@petamoriken/float16'
import { describe, expect, it } from 'vitest'
import { decodeHalf, encodeHalf, roundArray, roundBfloat16, roundFloat16 } from '../../src/backends/halfFloat.js'

const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))

/** Round half to even of a non-negative float64 that is exact. */
const roundHalfEven = (v: number): number => {
  const f = Math.floor(v)
  const rest = v - f
  return rest > 0.5 || (rest === 0.5 && f % 2 === 1) ? f + 1 : f
}

/**
 * An independent bfloat16 reference in float64 arithmetic (not bits): the grid step at |x| is
 * 2^(exponent - 7), never below bfloat16's subnormal step 2^-133.
 */
const bfloat16Reference = (x: number): number => {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x
  const a = Math.abs(x)
  let e = Math.floor(Math.log2(a))
  if (2 ** e > a) e -= 1
  if (2 ** (e + 1) <= a) e += 1
  const step = 2 ** Math.max(e - 7, -133)
  const r = roundHalfEven(a / step) * step
  const out = r > (2 - 2 ** -7) * 2 ** 127 ? Number.POSITIVE_INFINITY : r
  return x < 0 ? -out : out
}

describe('float16 rounding (round to nearest, ties to even)', () => {
  const cases: [string, number, number][] = [
    ['exact', 1.5, 1.5],
    ['tie between 1 and 1+2^-10 goes to even 1', 1 + 2 ** -11, 1],
    ['tie between 1+2^-10 and 1+2^-9 goes to even 1+2^-9', 1 + 3 * 2 ** -11, 1 + 2 ** -9],
    ['just above a tie rounds up', 1 + 2 ** -11 + 2 ** -20, 1 + 2 ** -10],
    ['largest finite', 65504, 65504],
    ['below the overflow midpoint', 65519, 65504],
    ['the overflow midpoint is infinity', 65520, Number.POSITIVE_INFINITY],
    ['negative overflow', -70000, Number.NEGATIVE_INFINITY],
    ['float32 max overflows', 3.4028234663852886e38, Number.POSITIVE_INFINITY],
    ['smallest subnormal', 2 ** -24, 2 ** -24],
    ['half the smallest subnormal is a tie to 0', 2 ** -25, 0],
    ['3/2 of the smallest subnormal is a tie to 2^-23', 3 * 2 ** -25, 2 ** -23],
    ['just above half the smallest subnormal', 2 ** -25 + 2 ** -40, 2 ** -24],
    ['largest subnormal', 1023 * 2 ** -24, 1023 * 2 ** -24],
    ['subnormal/normal tie goes to the even normal', 2 ** -14 - 2 ** -25, 2 ** -14],
    ['smallest normal', 2 ** -14, 2 ** -14],
    ['a float32 subnormal underflows to 0', 2 ** -140, 0],
    ['negative zero keeps its sign', -0, -0],
    ['a tiny negative keeps its sign', -(2 ** -30), -0],
    ['infinity', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    ['-infinity', Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ['NaN', Number.NaN, Number.NaN],
    ['0.1', 0.1, 0.0999755859375],
  ]
  it.each(cases)('%s', (_, x, expected) => {
    expect(same(roundFloat16(Math.fround(x)), expected)).toBe(true)
  })
})

describe('bfloat16 rounding (round to nearest, ties to even)', () => {
  const cases: [string, number, number][] = [
    ['exact', 1.5, 1.5],
    ['tie between 1 and 1+2^-7 goes to even 1', 1 + 2 ** -8, 1],
    ['tie between 1+2^-7 and 1+2^-6 goes to even 1+2^-6', 1 + 3 * 2 ** -8, 1 + 2 ** -6],
    ['largest finite bfloat16', (2 - 2 ** -7) * 2 ** 127, (2 - 2 ** -7) * 2 ** 127],
    ['float32 max overflows to infinity', 3.4028234663852886e38, Number.POSITIVE_INFINITY],
    ['float16 overflow is fine in bfloat16', 65520, 65536],
    ['subnormal step 2^-133 kept', 2 ** -133, 2 ** -133],
    ['half the subnormal step is a tie to 0', 2 ** -134, 0],
    ['3/2 of the subnormal step is a tie to 2^-132', 3 * 2 ** -134, 2 ** -132],
    ['float32 smallest subnormal underflows', 2 ** -149, 0],
    ['negative zero', -0, -0],
    ['infinity', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    ['-infinity', Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ['NaN', Number.NaN, Number.NaN],
    ['0.1', 0.1, 0.10009765625],
  ]
  it.each(cases)('%s', (_, x, expected) => {
    expect(same(roundBfloat16(Math.fround(x)), expected)).toBe(true)
  })
})

describe('a million random float32 values', () => {
  // Random bit patterns cover every exponent, subnormals, infinities and NaNs.
  const bits = new Uint32Array(1_000_000)
  let s = 0x2545f491
  for (let i = 0; i < bits.length; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    bits[i] = s >>> 0
  }
  // Half of them in the range where float16 is normal, where most training values live.
  const values = new Float32Array(bits.buffer)
  for (let i = 0; i < values.length; i += 2) values[i] = ((bits[i] as number) / 2 ** 32 - 0.5) * 2 ** (((bits[i] as number) % 40) - 20)

  const mismatches = (round: (x: number) => number, reference: (x: number) => number): number[] => {
    const bad: number[] = []
    for (let i = 0; i < values.length && bad.length < 5; i++) if (!same(round(values[i] as number), reference(values[i] as number))) bad.push(values[i] as number)
    return bad
  }

  it('float16 agrees with @petamoriken/float16 (f16round)', () => {
    expect(mismatches(roundFloat16, f16round)).toEqual([])
  })

  it('bfloat16 agrees with a float64 arithmetic reference', () => {
    expect(mismatches(roundBfloat16, bfloat16Reference)).toEqual([])
  })

  it.each(['float16', 'bfloat16'] as const)('%s codes decode to exactly the rounded values', (format) => {
    const rounded = roundArray(values, format)
    const decoded = decodeHalf(encodeHalf(values, format), format)
    let bad = 0
    for (let i = 0; i < values.length; i++) if (!same(decoded[i] as number, rounded[i] as number)) bad++
    expect(bad).toBe(0)
  })
})

describe('half codes', () => {
  it('float16 codes are IEEE binary16', () => {
    expect(Array.from(encodeHalf(Float32Array.from([1, -2, 65504, Number.POSITIVE_INFINITY, 2 ** -24, 0, -0, Number.NaN]), 'float16'))).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x8000, 0x7e00,
    ])
  })
  it('bfloat16 codes are the top half of float32', () => {
    expect(Array.from(encodeHalf(Float32Array.from([1, -2, 1 + 2 ** -8]), 'bfloat16'))).toEqual([0x3f80, 0xc000, 0x3f80])
  })
})
