import { config, EMPTY, Observable, type Subscription } from 'rxjs'

/**
 * A loop written as a generator: it runs synchronously between `yield`s, and each `yield`
 * hands the driver an Observable to wait for (a batch to load, a hook's work to finish); the
 * driver resumes the generator with the Observable's last value. This keeps the loop readable
 * top to bottom, like Lightning's, while every wait stays an RxJS value: in a marble test the
 * waits run in virtual time, and unsubscribing cancels the wait and runs the generator's
 * `finally` blocks, which release its tensors.
 */
export type Program<R = void> = Generator<Observable<unknown>, R, unknown>

/** Waits inside a program for an Observable and returns its last value (undefined if none). */
export function* wait<T>(source: Observable<T>): Program<T | undefined> {
  return (yield source) as T | undefined
}

/** A point where the driver may notice an unsubscription. */
export function* yieldPoint(): Program {
  yield EMPTY
}

/** Where an error goes once nobody is subscribed (RxJS's own rule for unhandled errors). */
const reportUnhandled = (error: unknown): void => {
  if (config.onUnhandledError !== null) config.onUnhandledError(error)
  else
    setTimeout(() => {
      throw error
    })
}

type Resume = { ok: true; value: unknown } | { ok: false; error: unknown }

const resumed: Resume = { ok: true, value: undefined }

/**
 * Runs a program as a cold Observable. `start` receives the function that emits to this
 * subscriber (and answers whether the subscriber still listens). Synchronous waits are
 * trampolined (no stack growth over thousands of steps).
 *
 * Cancellation (unsubscribing, also from inside an emission) stops the program at its next
 * `yield` with `return()`. Its `finally` blocks may still wait (`yield`) for work that must
 * finish before tensors are released; those waits are driven to the end, with nothing emitted.
 * A failure after cancellation is reported as an unhandled error.
 */
export const drive = <E>(start: (emit: (event: E) => boolean) => Program): Observable<E> =>
  new Observable<E>((subscriber) => {
    let cancelled = false
    let returning = false
    let running = false
    let pending: Subscription | undefined
    // Emitting answers whether anyone still listens: a program need not yield after an event
    // to learn that it was cancelled while the event was handled.
    const program = start((event) => {
      if (!cancelled && !subscriber.closed) subscriber.next(event)
      return !cancelled && !subscriber.closed
    })
    const fail = (error: unknown): void => {
      if (!cancelled && !subscriber.closed) subscriber.error(error)
      else reportUnhandled(error)
    }
    const advance = (resumeWith: Resume): void => {
      let input = resumeWith
      for (;;) {
        // A synchronous unsubscription happens before the teardown below can be registered.
        if (subscriber.closed && !cancelled) cancelled = true
        let step: IteratorResult<Observable<unknown>, void>
        running = true
        try {
          if (cancelled && !returning) {
            returning = true
            step = program.return(undefined)
          } else step = input.ok ? program.next(input.value) : program.throw(input.error)
        } catch (e) {
          running = false
          fail(e)
          return
        }
        running = false
        if (step.done === true) {
          if (!cancelled) subscriber.complete()
          return
        }
        if (subscriber.closed && !cancelled) {
          cancelled = true
          continue
        }
        // A bare yield point (`EMPTY`) completes at once: no subscription needed.
        if (step.value === EMPTY) {
          input = resumed
          continue
        }
        let synchronous = true
        let settled: Resume | undefined
        let last: unknown
        const subscription = step.value.subscribe({
          next: (v) => {
            last = v
          },
          error: (error: unknown) => {
            pending = undefined
            if (synchronous) settled = { ok: false, error }
            else advance({ ok: false, error })
          },
          complete: () => {
            pending = undefined
            if (synchronous) settled = { ok: true, value: last }
            else advance({ ok: true, value: last })
          },
        })
        synchronous = false
        if (settled === undefined) {
          pending = subscription
          return
        }
        input = settled
      }
    }
    subscriber.add(() => {
      if (cancelled) return
      cancelled = true
      // Waits inside `finally` (after `return()`) are never cut short.
      if (returning) return
      pending?.unsubscribe()
      pending = undefined
      if (!running) advance({ ok: true, value: undefined })
    })
    advance({ ok: true, value: undefined })
  })
