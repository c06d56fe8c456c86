import type { Observable } from 'rxjs'
import type { BatchIterator, BatchSource, PassOrder } from '../data/source.js'
import type { TrainState } from '../pipeline/events.js'
import type { Params } from '../tree/tree.js'
import { type TrainedBatch, type TrainOnBatch, trainOnBatch } from '../pipeline/trainOnBatch.js'

/**
 * How a training batch is computed: in this thread (`singleDevice`), or split across worker
 * threads (`ddp`). The loop is the same either way; a strategy that waits answers with an
 * Observable.
 */
export interface TrainStrategy {
  readonly name: string
  /** Prepares once the initial state exists (e.g. starts workers and waits until they are ready). */
  start?(state: TrainState): Observable<unknown>
  /**
   * Opens a pass over the training data for this thread (`source.open(order)` when absent). DDP
   * opens it for rank 0's rows when every rank can load its own rows, and has the workers open
   * theirs.
   */
  openTrain?<B>(source: BatchSource<B>, order: PassOrder): BatchIterator<B>
  trainBatch<P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): TrainedBatch<P, S> | Observable<TrainedBatch<P, S>>
  /**
   * Work on a batch that can be done before its step, called when the loop pulls the batch while
   * the previous step is still in flight (DDP cuts it into shards then). The batch stays the
   * loop's; what this keeps, it releases itself.
   */
  prepare?(batch: unknown): void
  /**
   * Releases what the strategy holds (workers); called when the run ends in any way. What it
   * answers, the loop waits for before the run completes (DDP's worker threads exiting), so a
   * finished run leaves no thread behind.
   */
  close(): Observable<unknown> | undefined
}

/** Every batch computed in this thread, on its backend. */
export const singleDevice: TrainStrategy = {
  name: 'single',
  trainBatch: trainOnBatch,
  close: () => undefined,
}
