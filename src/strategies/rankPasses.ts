import type { BatchIterator, BatchSource, PassOrder } from '../data/source.js'
import { shardSizes } from '../data/shardRows.js'
import { compactRecipe, recipeBatchSizes, type SourceRecipe } from '../data/sourceRecipe.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { batchSizeOf } from '../pipeline/batches.js'
import type { Shards } from './batchShards.js'
import type { ToWorker } from './protocol.js'

/** A pass in which every rank loads its own rows: rank 0's iterator, and each batch's shards. */
export interface RankPass<B> {
  readonly iterator: BatchIterator<B>
  /** Rank 0's rows of batch `batchIdx` as the batch's shards (the other ranks load theirs). */
  shards(batch: unknown, batchIdx: number): Shards
}

/**
 * Opens passes over sources with a recipe for `devices` ranks, Lightning's DistributedSampler in
 * the ranks' threads: each worker gets the recipe once (`post`), builds the same source and opens
 * every pass for its own rows; this thread opens it for rank 0's. The shard sizes of a batch
 * follow from the recipe, so no rows cross between threads.
 */
export const rankPasses = (devices: number, post: (rank: number, message: ToWorker) => void) => {
  let sent: SourceRecipe | undefined
  return <B>(source: BatchSource<B>, recipe: SourceRecipe, order: PassOrder): RankPass<B> => {
    const fresh = recipe !== sent ? compactRecipe(recipe) : undefined
    sent = recipe
    const plainOrder = {
      key: [order.key[0], order.key[1]] as const,
      ...(order.noShuffle !== undefined && { noShuffle: order.noShuffle }),
      ...(order.skipBatches !== undefined && { skipBatches: order.skipBatches }),
      ...(order.epoch !== undefined && { epoch: order.epoch }),
    }
    for (let rank = 1; rank < devices; rank++) post(rank, { type: 'open', ...(fresh !== undefined && { recipe: fresh }), order: plainOrder, shard: { rank, ranks: devices } })
    const batchSize = recipeBatchSizes(recipe)
    return {
      iterator: source.open({ ...order, shard: { rank: 0, ranks: devices } }),
      shards: (batch, batchIdx) => {
        const sizes = shardSizes(batchSize(batchIdx), devices)
        const size = batchSizeOf(batch)
        if (size !== sizes[0])
          throw rxtrainError('DataError', `batch ${batchIdx} has ${size} rows in rank 0, where its source's recipe gives ${sizes[0]}`, 'a source with a recipe must pull the rows its recipe describes.')
        return { local: batch, remote: [], sizes }
      },
    }
  }
}
