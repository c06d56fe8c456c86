/**
 * Which rank of a data-parallel run takes which rows of a batch: the rows split into `ranks`
 * contiguous runs, the first `total % ranks` ranks one row longer (a batch smaller than `ranks`
 * leaves the last ranks empty). Rank 0 takes the first rows, as when the main thread cuts a
 * batch it pulled whole, so that both ways train on the same rows in the same places.
 */
export interface ShardOf {
  readonly rank: number
  readonly ranks: number
}

/** The number of rows of each rank, for a batch of `total` rows. */
export const shardSizes = (total: number, ranks: number): number[] =>
  Array.from({ length: ranks }, (_, r) => Math.floor(total / ranks) + (r < total % ranks ? 1 : 0))

/**
 * The rows `[start, end)` of `shard` within the batch rows `[from, to)`.
 *
 * @example
 * shardRange(0, 33, { rank: 1, ranks: 2 }) // [17, 33]
 */
export const shardRange = (from: number, to: number, shard: ShardOf): readonly [number, number] => {
  const sizes = shardSizes(to - from, shard.ranks)
  const start = from + sizes.slice(0, shard.rank).reduce((a, b) => a + b, 0)
  return [start, start + (sizes[shard.rank] ?? 0)]
}
