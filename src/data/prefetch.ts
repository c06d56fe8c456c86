import { isObservable, type Observable, of, ReplaySubject, type Subscription, tap } from 'rxjs'
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
 * const train = withPrefetch(fromDataset(ds), 2)
 */
export const withPrefetch = <B>(source: BatchSource<B>, depth: number): BatchSource<B> => ({
  numBatches: source.numBatches,
  open: (order): BatchIterator<B> => {
    const inner = source.open(order)
    const queue: { readonly result: ReplaySubject<Result<B>>; sub?: Subscription }[] = []
    // Batches that arrived but were not yet handed to the consumer: ours to dispose on close.
    const waiting = new Set<Result<B>>()
    let ended = false
    const start = (): void => {
      const entry: { readonly result: ReplaySubject<Result<B>>; sub?: Subscription } = { result: new ReplaySubject(1) }
      queue.push(entry)
      const deliver = (r: Result<B>): void => {
        if (r.done === true) ended = true
        else waiting.add(r)
        entry.result.next(r)
        entry.result.complete()
      }
      const pull = inner.next()
      if (isObservable(pull)) entry.sub = pull.subscribe({ next: deliver, error: (e: unknown) => entry.result.error(e) })
      else deliver(pull)
    }
    return {
      next: (): Observable<Result<B>> => {
        while (!ended && queue.length < depth + 1) start()
        const head = queue.shift()
        if (head === undefined) return of(done)
        return head.result.pipe(tap((r) => waiting.delete(r)))
      },
      close: () => {
        for (const e of queue) e.sub?.unsubscribe()
        queue.length = 0
        for (const r of waiting) disposeTree(r.value)
        waiting.clear()
        inner.close()
      },
    }
  },
})
