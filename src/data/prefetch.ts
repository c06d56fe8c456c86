import { isObservable, type Observable, of, ReplaySubject, tap } from 'rxjs'
import { rxtrainError } from '../errors/rxtrainError.js'
import { disposeTree } from '../tree/tree.js'
import { type BatchIterator, type BatchSource, done } from './source.js'

type Result<B> = IteratorResult<B, undefined>

/**
 * A source whose iterator keeps up to `depth` pulls in flight ahead of the consumer, so that
 * asynchronous loading overlaps training while memory stays bounded: besides the batch being
 * trained on, at most `depth` batches wait, however fast loading is. Batches that were
 * prefetched but never taken are disposed on `close`.
 *
 * @example
 * // a source that loads asynchronously (fromDataset, a source of your own): load 2 batches ahead
 * fit(module, { train: withPrefetch(train, 2), val }, { maxEpochs: 3 }).subscribe()
 */
export const withPrefetch = <B>(source: BatchSource<B>, depth: number): BatchSource<B> => {
  // A negative depth would start no pull at all and end every pass at once, silently.
  if (!Number.isInteger(depth) || depth < 0)
    throw rxtrainError('ConfigError', `prefetch depth must be an integer >= 0, got ${depth}`, 'pass e.g. withPrefetch(source, 2).', {
      field: 'depth',
    })
  return prefetched(source, depth)
}

const prefetched = <B>(source: BatchSource<B>, depth: number): BatchSource<B> => ({
  numBatches: source.numBatches,
  open: (order): BatchIterator<B> => {
    const inner = source.open(order)
    const queue: { readonly result: ReplaySubject<Result<B>> }[] = []
    // Batches that arrived but were not yet handed to the consumer: ours to dispose on close.
    const waiting = new Set<Result<B>>()
    let ended = false
    let closed = false
    const start = (): void => {
      const entry = { result: new ReplaySubject<Result<B>>(1) }
      queue.push(entry)
      const deliver = (r: Result<B>): void => {
        // A pull that was in flight at close has no consumer any more: its batch is ours.
        if (closed) {
          if (r.done !== true) disposeTree(r.value)
          entry.result.next(done)
          entry.result.complete()
          return
        }
        if (r.done === true) ended = true
        else waiting.add(r)
        entry.result.next(r)
        entry.result.complete()
      }
      const pull = inner.next()
      if (isObservable(pull)) pull.subscribe({ next: deliver, error: (e: unknown) => entry.result.error(e) })
      else deliver(pull)
    }
    return {
      next: (): Observable<Result<B>> => {
        if (closed) return of(done)
        while (!ended && queue.length < depth + 1) start()
        const head = queue.shift()
        if (head === undefined) return of(done)
        return head.result.pipe(tap((r) => waiting.delete(r)))
      },
      close: () => {
        // In-flight pulls are not unsubscribed: a load already under way (a promise) would still
        // produce its batch, and nobody could dispose it. `deliver` disposes it on arrival.
        closed = true
        queue.length = 0
        for (const r of waiting) disposeTree(r.value)
        waiting.clear()
        inner.close()
      },
    }
  },
})
