import type * as tf from '@tensorflow/tfjs-core'
import { Observable, of } from 'rxjs'
import { disposeTree } from '../tree/tree.js'
import { type BatchIterator, type BatchSource, done } from './source.js'

/** A tfjs-data iterator, as far as this adapter uses it. */
interface LazyIterator<T> {
  next(): Promise<IteratorResult<T>>
}

/**
 * A `tf.data.Dataset`, as far as this adapter uses it. Structural, so that rxtrain neither installs
 * `@tensorflow/tfjs-data` (an optional peer) nor reaches its declarations from its own.
 */
interface DatasetLike<T> {
  iterator(): Promise<LazyIterator<T>>
}

/**
 * `fromDataset`'s options.
 *
 * @example
 * import * as tfd from '@tensorflow/tfjs-data'
 * const rows = Array.from({ length: 60000 }, (_, i) => ({ x: [i % 28], y: [i % 10] }))
 * const options: data.DatasetSourceOptions = { numBatches: Math.ceil(rows.length / 128) }   // 469
 * const source = fromDataset(tfd.array(rows).batch(128), options)
 */
export interface DatasetSourceOptions {
  /** Batches per pass, if known (tf.data cannot always tell); needed for fractional limits. */
  readonly numBatches?: number
}

/**
 * Batches from a `tf.data.Dataset` whose elements are already batches (call `.batch(n)` on it).
 * Each pull awaits the dataset's iterator, so loading overlaps nothing unless the dataset itself
 * `.prefetch`es. tf.data shuffles with its own seed (`.shuffle(bufferSize, seed)`), not with the
 * run's key, so pass a seed there for a reproducible order.
 *
 * @example
 * import * as tfd from '@tensorflow/tfjs-data'
 * const rows = Array.from({ length: 1000 }, (_, i) => ({ x: [i / 1000], y: [(2 * i) / 1000] }))
 * const ds = tfd.array(rows).shuffle(1000, '42').batch(32).map((b) => b as Batch)
 * const source = fromDataset(ds, { numBatches: Math.ceil(rows.length / 32) })
 * fit(module, { train: source }, { maxEpochs: 2 }).subscribe()
 */
export const fromDataset = <B extends tf.TensorContainer>(
  dataset: DatasetLike<B>,
  options: DatasetSourceOptions = {},
): BatchSource<B> => {
  // tf.data draws a new shuffle seed for every pass (`iterator()` call): to give pass k the order
  // it had in an uninterrupted run, a resumed process first opens and drops the passes before it.
  let passes = 0
  return {
    numBatches: options.numBatches,
    open: (order): BatchIterator<B> => {
      const missed = Math.max(0, (order.epoch ?? passes) - passes)
      passes += missed + 1
      const catchUp = async (): Promise<void> => {
        for (let i = 0; i < missed; i++) await dataset.iterator()
      }
      let iterator: Promise<LazyIterator<B>> | undefined
      let closed = false
      // Skipping happens once, inside the iterator's promise, so that concurrent pulls (a
      // prefetching consumer) cannot each skip: every pull waits for the skip to finish.
      const skipped = async (it: LazyIterator<B>): Promise<LazyIterator<B>> => {
        for (let i = 0; i < (order.skipBatches ?? 0) && !closed; i++) {
          const r = await it.next()
          if (r.done === true) break
          disposeTree(r.value)
        }
        return it
      }
      // A pull starts when subscribed. Whoever stops listening before its batch arrives (an
      // unsubscribed run, a closed pass) leaves the batch to be disposed on arrival.
      const next = (): Observable<IteratorResult<B, undefined>> =>
        closed
          ? of(done)
          : new Observable<IteratorResult<B, undefined>>((subscriber) => {
              iterator ??= catchUp()
                .then(() => dataset.iterator())
                .then(skipped)
              let listening = true
              iterator
                .then((it) => (closed ? { done: true as const, value: undefined } : it.next()))
                .then(
                  (r) => {
                    if (r.done === true) {
                      if (listening) {
                        subscriber.next(done)
                        subscriber.complete()
                      }
                    } else if (!listening || closed) {
                      disposeTree(r.value)
                      if (listening) {
                        subscriber.next(done)
                        subscriber.complete()
                      }
                    } else {
                      subscriber.next({ done: false, value: r.value })
                      subscriber.complete()
                    }
                  },
                  (e: unknown) => {
                    if (listening) subscriber.error(e)
                  },
                )
              return () => {
                listening = false
              }
            })
      return {
        next,
        close: () => {
          closed = true
        },
      }
    },
  }
}
