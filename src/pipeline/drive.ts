import { EMPTY, Observable, type Subscription } from 'rxjs'

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

/**
 * Runs a program as a cold Observable. `start` receives the function that emits to this
 * subscriber. Synchronous waits are trampolined (no stack growth over thousands of steps).
 */
export const drive = <E>(start: (emit: (event: E) => void) => Program): Observable<E> =>
  new Observable<E>((subscriber) => {
    let cancelled = false
    let running = false
    let pending: Subscription | undefined
    const program = start((event) => {
      if (!subscriber.closed) subscriber.next(event)
    })
    // Runs the program's finally blocks. A failure there surfaces as RxJS's UnsubscriptionError.
    const finish = (): void => {
      program.return(undefined)
    }
    const resume = (resumeWith: { ok: true; value: unknown } | { ok: false; error: unknown }): void => {
      let input = resumeWith
      for (;;) {
        // A synchronous unsubscription happens before the teardown below can be registered.
        if (subscriber.closed) cancelled = true
        if (cancelled) return finish()
        let step: IteratorResult<Observable<unknown>, void>
        running = true
        try {
          step = input.ok ? program.next(input.value) : program.throw(input.error)
        } catch (e) {
          running = false
          subscriber.error(e)
          return
        } finally {
          running = false
        }
        if (step.done === true) {
          subscriber.complete()
          return
        }
        if (subscriber.closed) cancelled = true
        if (cancelled) return finish()
        let synchronous = true
        let settled: typeof input | undefined
        let last: unknown
        const subscription = step.value.subscribe({
          next: (v) => {
            last = v
          },
          error: (error: unknown) => {
            pending = undefined
            if (synchronous) settled = { ok: false, error }
            else resume({ ok: false, error })
          },
          complete: () => {
            pending = undefined
            if (synchronous) settled = { ok: true, value: last }
            else resume({ ok: true, value: last })
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
      cancelled = true
      pending?.unsubscribe()
      pending = undefined
      if (!running) finish()
    })
    resume({ ok: true, value: undefined })
  })
