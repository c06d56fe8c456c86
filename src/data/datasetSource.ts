import type * as tf from '@tensorflow/tfjs-core'
import type { Dataset } from '@tensorflow/tfjs-data'
import { defer, from, map, type Observable, of, switchMap } from 'rxjs'
import { tensorsOf } from '../tree/tree.js'
import type { BatchIterator, BatchSource } from './source.js'

/** A tfjs-data iterator, as far as this adapter uses it. */
interface LazyIterator<T> {
  next(): Promise<IteratorResult<T>>
}

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
 * const ds = tfdata.array(examples).shuffle(1000, '42').batch(32).map(toTensors)
 * const source = fromDataset(ds, { numBatches: Math.ceil(examples.length / 32) })
 */
export const fromDataset = <B extends tf.TensorContainer>(
  dataset: Dataset<B>,
  options: DatasetSourceOptions = {},
): BatchSource<B> => ({
  numBatches: options.numBatches,
  open: (order): BatchIterator<B> => {
    let iterator: Promise<LazyIterator<B>> | undefined
    let closed = false
    let skip = order.skipBatches ?? 0
    const pullOne = (): Observable<IteratorResult<B, undefined>> =>
      defer(() => {
        iterator ??= dataset.iterator() as Promise<LazyIterator<B>>
        return from(iterator)
      }).pipe(
        switchMap((it) => from(it.next())),
        map((r): IteratorResult<B, undefined> => (r.done === true || closed ? { done: true, value: undefined } : { done: false, value: r.value })),
      )
    const next = (): Observable<IteratorResult<B, undefined>> =>
      skip > 0
        ? pullOne().pipe(
            switchMap((r) => {
              if (r.done === true) return of(r)
              for (const t of tensorsOf(r.value)) t.dispose()
              skip--
              return next()
            }),
          )
        : pullOne()
    return {
      next,
      close: () => {
        closed = true
      },
    }
  },
})
