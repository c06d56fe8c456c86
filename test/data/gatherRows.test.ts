import { describe, expect, it } from 'vitest'
import { gatherRowsInto, type RowValues } from '../../src/data/gatherRows.js'

/** The documented result, one value at a time: the double `v * scale` stored into the output's type. */
const reference = (out: Float32Array | Int32Array, data: RowValues, indices: Int32Array, from: number, to: number, size: number, scale: number) => {
  for (let i = from; i < to; i++) for (let j = 0; j < size; j++) out[(i - from) * size + j] = (data[(indices[i] as number) * size + j] as number) * scale
  return out
}

// Runs of consecutive rows (copied as one block) between single rows, a run at each end, a row
// that skips one (6, 8) and a row taken twice.
const indices = Int32Array.from([7, 8, 9, 3, 0, 1, 2, 11, 5, 6, 8, 10, 4, 5])
const rows = 12
const size = 5

describe('gatherRowsInto', () => {
  it.each([
    ['bytes to float32, scaled (copied, then scaled)', () => Uint8Array.from({ length: rows * size }, (_, i) => (i * 37) % 256), () => new Float32Array(indices.length * size), 1 / 255],
    ['int32 to float32, scaled (value by value)', () => Int32Array.from({ length: rows * size }, (_, i) => i * 1_000_003 - 7), () => new Float32Array(indices.length * size), 1 / 3],
    ['int32 labels, unscaled (copied)', () => Int32Array.from({ length: rows * size }, (_, i) => (i * 7) % 10), () => new Int32Array(indices.length * size), 1],
    ['float32 to int32, scaled (value by value)', () => Float32Array.from({ length: rows * size }, (_, i) => i * 1.7), () => new Int32Array(indices.length * size), 2.5],
  ] as const)('gives the value-by-value result for runs of consecutive rows and single rows: %s', (_name, data, out, scale) => {
    const column = data()
    for (const [from, to] of [
      [0, 14],
      [1, 8],
      [4, 7],
      [8, 11],
      [13, 14],
    ] as const) {
      const got = out()
      gatherRowsInto(got, column, indices, from, to, size, scale)
      const want = reference(out(), column, indices, from, to, size, scale)
      expect(Array.from(got.subarray(0, (to - from) * size))).toEqual(Array.from(want.subarray(0, (to - from) * size)))
    }
  })

  it('copies a whole unshuffled batch as it is', () => {
    const column = Uint8Array.from({ length: rows * size }, (_, i) => i)
    const natural = Int32Array.from({ length: rows }, (_, i) => i)
    const out = new Float32Array(4 * size)
    gatherRowsInto(out, column, natural, 3, 7, size, 1)
    expect(Array.from(out)).toEqual(Array.from({ length: 4 * size }, (_, i) => 3 * size + i))
  })
})
