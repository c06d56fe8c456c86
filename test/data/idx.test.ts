import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { decodeIdx } from '../../src/data/idx.js'
import { idxBytes } from './idxFiles.js'

const expectDataError = (r: ReturnType<typeof decodeIdx>, name: string, why: RegExp): void => {
  if (E.isRight(r)) throw new Error('expected a DataError')
  expect(r.left.tag).toBe('DataError')
  expect(r.left.problem).toContain(name)
  expect(r.left.problem).toMatch(why)
  expect(r.left.details).toMatchObject({ file: name })
  expect(r.left.remedy.length).toBeGreaterThan(0)
}

describe('decodeIdx', () => {
  it('decodes a hand-built file: dims and data', () => {
    // 00 00 08 02 | 00 00 00 02 | 00 00 00 03 | 1 2 3 4 5 6
    const bytes = Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
    const r = decodeIdx(bytes, 'tiny')
    if (E.isLeft(r)) throw r.left
    expect(r.right.dims).toEqual([2, 3])
    expect(Array.from(r.right.data)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('reads dims big-endian (values above 255)', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => i % 256)
    const r = decodeIdx(idxBytes([300], data), 'labels')
    if (E.isLeft(r)) throw r.left
    expect(r.right.dims).toEqual([300])
    expect(r.right.data.length).toBe(300)
    expect(r.right.data[299]).toBe(299 % 256)
  })

  it('decodes from a view with a byte offset (e.g. a pooled Node Buffer)', () => {
    const file = idxBytes([2], [7, 9])
    const big = new Uint8Array(file.length + 5)
    big.set(file, 5)
    const r = decodeIdx(big.subarray(5), 'offset')
    if (E.isLeft(r)) throw r.left
    expect(r.right.dims).toEqual([2])
    expect(Array.from(r.right.data)).toEqual([7, 9])
  })

  it('rejects a wrong magic number', () => {
    const bytes = idxBytes([2], [1, 2])
    bytes[0] = 1
    expectDataError(decodeIdx(bytes, 'bad-magic.idx'), 'bad-magic.idx', /magic/)
  })

  it('rejects a data type other than unsigned byte', () => {
    expectDataError(decodeIdx(idxBytes([2], [1, 2], 0x0d), 'floats.idx'), 'floats.idx', /0xd.*unsigned byte/)
  })

  it('rejects a truncated header', () => {
    expectDataError(decodeIdx(Uint8Array.from([0, 0]), 'short.idx'), 'short.idx', /shorter than its header/)
    // Rank 3 promises 12 bytes of dims; only 4 are there.
    expectDataError(decodeIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1]), 'short-dims.idx'), 'short-dims.idx', /shorter than its header/)
  })

  it('rejects a size mismatch, both too few and too many values', () => {
    const few = idxBytes([2, 3], [1, 2, 3, 4, 5, 6]).subarray(0, 12 + 4)
    expectDataError(decodeIdx(few, 'few.idx'), 'few.idx', /promises 6 values but the file holds 4/)
    const many = idxBytes([2], [1, 2, 3])
    expectDataError(decodeIdx(many, 'many.idx'), 'many.idx', /promises 2 values but the file holds 3/)
  })
})
