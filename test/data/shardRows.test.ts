import { describe, expect, it } from 'vitest'
import { shardRange, shardSizes } from '../../src/data/shardRows.js'

describe('shard rows', () => {
  it('splits a batch as evenly as it goes, the first ranks one row longer', () => {
    expect(shardSizes(33, 2)).toEqual([17, 16])
    expect(shardSizes(32, 3)).toEqual([11, 11, 10])
    expect(shardSizes(1, 2)).toEqual([1, 0])
    expect(shardSizes(0, 2)).toEqual([0, 0])
  })

  it('gives each rank a contiguous run of the batch rows, rank 0 first, that together cover them once', () => {
    expect(shardRange(0, 33, { rank: 0, ranks: 2 })).toEqual([0, 17])
    expect(shardRange(0, 33, { rank: 1, ranks: 2 })).toEqual([17, 33])
    expect(shardRange(64, 96, { rank: 2, ranks: 3 })).toEqual([86, 96])
    expect(shardRange(4, 5, { rank: 1, ranks: 2 })).toEqual([5, 5])
    for (const [from, to, ranks] of [[10, 47, 3], [0, 5, 4], [7, 9, 5]] as const) {
      const runs = Array.from({ length: ranks }, (_, rank) => shardRange(from, to, { rank, ranks }))
      expect(runs[0]?.[0]).toBe(from)
      expect(runs.at(-1)?.[1]).toBe(to)
      runs.slice(1).forEach((r, i) => expect(r[0]).toBe(runs[i]?.[1]))
    }
  })
})
