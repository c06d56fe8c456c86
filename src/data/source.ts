import type { Observable } from 'rxjs'
import type { Key } from '../random/key.js'
import type { ShardOf } from './shardRows.js'
import type { SourceRecipe } from './recipe.js'

/**
 * One pull from a batch iterator: the next batch, or `done` at the end of the pass. A source
 * whose batches are ready in memory answers synchronously; one that loads asynchronously answers
 * with an Observable that emits the result once and completes. Data is pulled, never pushed: the
 * loop asks for the next batch when the previous step has finished, or, while a step waits on
 * another thread or device (DDP workers, a GPU read), during that wait (one batch ahead at most).
 *
 * @example
 * const pulled = (p: data.Pull<Batch>): Observable<IteratorResult<Batch, undefined>> => (p instanceof Observable ? p : of(p))
 * const first = await firstValueFrom(pulled(train.open({ key: key(0) }).next()))   // { done: false, value: Batch }
 */
export type Pull<B> = IteratorResult<B, undefined> | Observable<IteratorResult<B, undefined>>

/**
 * One pass over a source's batches. The consumer owns every batch it pulls (and disposes its
 * tensors after the step); `close` releases whatever the iterator still holds.
 *
 * @example
 * const it: data.BatchIterator<Batch> = train.open({ key: key(0), noShuffle: true })
 * const first = it.next()   // a batch (or an Observable of one, from an asynchronous source); yours to dispose
 * it.close()
 */
export interface BatchIterator<B> {
  next(): Pull<B>
  close(): void
}

/**
 * How to order one pass.
 *
 * @example
 * const order: data.PassOrder = { key: key(0), noShuffle: true, skipBatches: 10 }
 * const it = train.open(order)   // the natural order, from the 11th batch
 * it.close()
 */
export interface PassOrder {
  /** The randomness of this pass; the loop derives it from the run's seed and the epoch. */
  readonly key: Key
  /** Forces the natural order (validation, `overfitBatches`) even if the source shuffles. */
  readonly noShuffle?: boolean
  /** Skips this many batches at the start (an exact mid-epoch resume). */
  readonly skipBatches?: number
  /**
   * Which pass of this source this is (the epoch, for training data). Sources whose order depends
   * on how many passes came before (tf.data's reshuffling) use it to catch up after a resume.
   */
  readonly epoch?: number
  /**
   * Only this rank's rows of every batch (Lightning's DistributedSampler): data-parallel ranks
   * load their own shards. Sources with a `recipe` honour it; the others are pulled whole by the
   * main thread, which cuts each batch.
   */
  readonly shard?: ShardOf
}

/**
 * A restartable sequence of batches (a Lightning dataloader). `numBatches` is the count per pass
 * when it is known; fractional limits and validation intervals need it.
 *
 * @example
 * const mnist: BatchSource<Batch> = fromArrays(
 *   { x: { data: images, shape: [784], scale: 1 / 255 }, y: { data: digits, shape: [], dtype: 'int32' } },
 *   { batchSize: 128, shuffle: true },
 * )
 * mnist.numBatches   // 469 for 60,000 digits
 */
export interface BatchSource<B> {
  readonly numBatches: number | undefined
  open(order: PassOrder): BatchIterator<B>
  /**
   * How a data-parallel worker thread builds the same source in its own thread (plain data), so
   * that each rank loads its own shard of every batch. Sources without one are pulled by the main
   * thread only.
   */
  readonly recipe?: SourceRecipe
}

/**
 * A finished pull.
 *
 * @example
 * const countdown: BatchSource<number> = {
 *   numBatches: 3,
 *   open: () => { let n = 3; return { next: () => (n > 0 ? { done: false, value: n-- } : data.done), close: () => {} } },
 * }
 */
export const done: IteratorResult<never, undefined> = { done: true, value: undefined }
