import { isObservable, type Observable, ReplaySubject } from 'rxjs'
import type { BatchIterator, Pull } from '../data/source.js'
import { disposeTree } from '../tree/tree.js'
import { type Program, wait } from '../flow/drive.js'

/** A batch iterator that can take its next pull early and hand it out at the next `next()`. */
export interface LookaheadIterator<B> extends BatchIterator<B> {
  /** Pulls the next batch now (once); a failure is kept and thrown by the `next()` that needs it. */
  pullAhead(): void
}

type Result<B> = IteratorResult<B, undefined>

/** A pull taken early: a synchronous result, an asynchronous one already under way, or its error. */
type Ahead<B> =
  | { readonly kind: 'ready'; readonly result: Result<B> }
  | { readonly kind: 'loading'; readonly result: Observable<Result<B>>; readonly close: () => void; readonly take: () => void }
  | { readonly kind: 'failed'; readonly error: unknown }

/**
 * Subscribes to an asynchronous pull at once, so that loading overlaps the step. Its batch is
 * replayed to whoever takes it; a batch that arrives after `close`, or is never taken, is disposed
 * (a load under way is not cancelled: its promise would still produce the batch).
 */
const startLoading = <B>(pull: Observable<Result<B>>): Ahead<B> => {
  const result = new ReplaySubject<Result<B>>(1)
  let arrived: Result<B> | undefined
  let taken = false
  let closed = false
  pull.subscribe({
    next: (r) => {
      if (closed && r.done !== true) disposeTree(r.value)
      else arrived = r
      result.next(r)
    },
    error: (e: unknown) => result.error(e),
    complete: () => result.complete(),
  })
  return {
    kind: 'loading',
    result,
    take: () => {
      taken = true
    },
    close: () => {
      closed = true
      if (!taken && arrived !== undefined && arrived.done !== true) disposeTree(arrived.value)
    },
  }
}

/**
 * Wraps an iterator so that the loop can pull the next batch while a step is still in flight. The
 * batches and their order are the iterator's own; only the moment of the pull moves (an
 * asynchronous pull starts loading at once). `prepare` sees each batch pulled ahead synchronously.
 * A batch pulled ahead that the loop never takes (the run stopped) is disposed on `close`.
 */
export const lookahead = <B>(inner: BatchIterator<B>, prepare?: (batch: B) => void): LookaheadIterator<B> => {
  let ahead: Ahead<B> | undefined
  return {
    pullAhead: () => {
      if (ahead !== undefined) return
      let pull: Pull<B>
      try {
        pull = inner.next()
      } catch (error) {
        ahead = { kind: 'failed', error }
        return
      }
      if (isObservable(pull)) {
        ahead = startLoading(pull)
        return
      }
      ahead = { kind: 'ready', result: pull }
      try {
        if (pull.done !== true) prepare?.(pull.value)
      } catch {
        // Preparing is only done early: the step does the same work again and reports its error
        // at that batch, in order.
      }
    },
    next: () => {
      const taken = ahead
      ahead = undefined
      if (taken === undefined) return inner.next()
      if (taken.kind === 'failed') throw taken.error
      if (taken.kind === 'ready') return taken.result
      taken.take()
      return taken.result
    },
    close: () => {
      if (ahead?.kind === 'ready' && ahead.result.done !== true) disposeTree(ahead.result.value)
      if (ahead?.kind === 'loading') ahead.close()
      ahead = undefined
      inner.close()
    },
  }
}

/**
 * Starts `work` at once, runs `meanwhile` while it is in flight, then waits for its last value.
 * Leaving the program early (cancellation) unsubscribes the work, so its teardown releases what
 * it holds.
 */
export function* overlapped<T>(work: Observable<T>, meanwhile: () => void): Program<T | undefined> {
  const result = new ReplaySubject<T>(1)
  const running = work.subscribe(result)
  try {
    meanwhile()
    return yield* wait(result)
  } finally {
    running.unsubscribe()
  }
}
