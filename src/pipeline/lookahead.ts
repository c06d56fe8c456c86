import { isObservable, type Observable, ReplaySubject } from 'rxjs'
import type { BatchIterator, Pull } from '../data/source.js'
import { disposeTree } from '../tree/tree.js'
import { type Program, wait } from './drive.js'

/** A batch iterator that can take its next pull early and hand it out at the next `next()`. */
export interface LookaheadIterator<B> extends BatchIterator<B> {
  /** Pulls the next batch now (once); a failure is kept and thrown by the `next()` that needs it. */
  pullAhead(): void
}

/**
 * Wraps an iterator so that the loop can pull the next batch while a step is still in flight. The
 * batches and their order are the iterator's own; only the moment of the pull moves. `prepare`
 * sees each batch pulled ahead (synchronously) at once. A batch pulled ahead that the loop never
 * takes (the run stopped) is disposed on `close`.
 */
export const lookahead = <B>(inner: BatchIterator<B>, prepare?: (batch: B) => void): LookaheadIterator<B> => {
  let ahead: { readonly pull: Pull<B> } | { readonly error: unknown } | undefined
  return {
    pullAhead: () => {
      if (ahead !== undefined) return
      try {
        ahead = { pull: inner.next() }
      } catch (error) {
        ahead = { error }
        return
      }
      const { pull } = ahead
      try {
        if (!isObservable(pull) && pull.done !== true) prepare?.(pull.value)
      } catch {
        // Preparing is only done early: the step does the same work again and reports its error
        // at that batch, in order.
      }
    },
    next: () => {
      const taken = ahead
      ahead = undefined
      if (taken === undefined) return inner.next()
      if ('error' in taken) throw taken.error
      return taken.pull
    },
    close: () => {
      // An asynchronous pull not yet subscribed has produced nothing; a synchronous one is ours.
      if (ahead !== undefined && 'pull' in ahead && !isObservable(ahead.pull) && ahead.pull.done !== true) disposeTree(ahead.pull.value)
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
