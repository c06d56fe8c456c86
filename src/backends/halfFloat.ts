/**
 * Rounding float32 values to the half-precision formats, on the host, with the bits of the
 * IEEE formats rather than arithmetic (so the result does not depend on how a device rounds).
 *
 * - `float16` (IEEE binary16): 1 sign, 5 exponent, 10 mantissa bits. Largest finite 65504;
 *   values from 65520 up round to infinity; below 2^-14 the format is subnormal with a fixed
 *   step of 2^-24.
 * - `bfloat16`: float32's top 16 bits (8 exponent, 7 mantissa bits): float32's range, so it
 *   overflows only where float32 nearly does; float32 subnormals round on the same grid.
 *
 * Both round to nearest with ties to even, keep the sign of zero, keep infinities, and turn any
 * NaN into a NaN.
 */
export type HalfFormat = 'float16' | 'bfloat16'

const bits = new Uint32Array(1)
const value = new Float32Array(bits.buffer)

/** Rounds `x` (a float32) to the nearest bfloat16, ties to even, returned as a float32. */
export const roundBfloat16 = (x: number): number => {
  value[0] = x
  const u = bits[0] as number
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) return Number.NaN
  // Add just under half of the dropped part, plus the kept part's lowest bit: a tie then carries
  // only when that bit is odd. A carry out of the mantissa correctly bumps the exponent (and
  // turns the largest values into infinity).
  bits[0] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0
  return value[0] as number
}

/** Rounds `x` (a float32) to the nearest float16, ties to even, returned as a float32. */
export const roundFloat16 = (x: number): number => {
  value[0] = x
  const u = bits[0] as number
  const sign = u & 0x80000000
  const magnitude = u & 0x7fffffff
  if (magnitude >= 0x7f800000) return magnitude === 0x7f800000 ? x : Number.NaN
  // 65520 (0x477ff000) is the midpoint between 65504 and 2^16; it rounds to the even side, 2^16,
  // which does not exist in float16: infinity.
  if (magnitude >= 0x477ff000) return sign === 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY
  if (magnitude >= 0x38800000) {
    // Normal in float16 (2^-14 and up): keep 10 of float32's 23 mantissa bits.
    bits[0] = (sign | ((magnitude + 0x0fff + ((magnitude >>> 13) & 1)) & 0x7fffe000)) >>> 0
    return value[0] as number
  }
  // Subnormal in float16: multiples of 2^-24. In float64, |x| * 2^24 is exact, and so is the
  // rounding of that to an integer.
  const scaled = Math.abs(x) * 2 ** 24
  const floor = Math.floor(scaled)
  const rest = scaled - floor
  const rounded = rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor
  const out = rounded * 2 ** -24
  return sign === 0 ? out : -out
}

/** The rounding function of a format. */
export const roundingOf = (format: HalfFormat): ((x: number) => number) => (format === 'float16' ? roundFloat16 : roundBfloat16)

/** Rounds every value of `values` to `format`, into a new array. */
export const roundArray = (values: Float32Array, format: HalfFormat): Float32Array => {
  const round = roundingOf(format)
  const out = new Float32Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = round(values[i] as number)
  return out
}

/**
 * The 16-bit codes of `values` in `format` (rounding first), for half-size storage.
 * float16 codes are IEEE binary16; bfloat16 codes are float32's top 16 bits.
 */
export const encodeHalf = (values: Float32Array, format: HalfFormat): Uint16Array => {
  const out = new Uint16Array(values.length)
  if (format === 'bfloat16') {
    for (let i = 0; i < values.length; i++) {
      value[0] = roundBfloat16(values[i] as number)
      out[i] = (bits[0] as number) >>> 16
    }
    return out
  }
  for (let i = 0; i < values.length; i++) {
    value[0] = roundFloat16(values[i] as number)
    const u = bits[0] as number
    const sign = (u >>> 16) & 0x8000
    const magnitude = u & 0x7fffffff
    let code: number
    if (magnitude > 0x7f800000) code = 0x7e00
    else if (magnitude === 0x7f800000) code = 0x7c00
    else if (magnitude >= 0x38800000) code = ((magnitude >>> 13) - ((127 - 15) << 10)) & 0x7fff
    else code = Math.round(Math.abs(value[0] as number) * 2 ** 24) // exact: already a multiple of 2^-24
    out[i] = sign | code
  }
  return out
}

/** The float32 values of 16-bit codes written by `encodeHalf`. Exact. */
export const decodeHalf = (codes: Uint16Array, format: HalfFormat): Float32Array => {
  const out = new Float32Array(codes.length)
  if (format === 'bfloat16') {
    const u = new Uint32Array(out.buffer)
    for (let i = 0; i < codes.length; i++) u[i] = ((codes[i] as number) << 16) >>> 0
    return out
  }
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] as number
    const exponent = (c >>> 10) & 0x1f
    const mantissa = c & 0x3ff
    const magnitude =
      exponent === 0x1f
        ? mantissa === 0
          ? Number.POSITIVE_INFINITY
          : Number.NaN
        : exponent === 0
          ? mantissa * 2 ** -24
          : (1 + mantissa / 1024) * 2 ** (exponent - 15)
    out[i] = (c & 0x8000) === 0 ? magnitude : -magnitude
  }
  return out
}
