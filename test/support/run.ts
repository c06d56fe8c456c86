import type { Observable } from 'rxjs'

/** Subscribes to a synchronous run and returns its events, or throws its error. */
export const runSync = <E>(run: Observable<E>): E[] => {
  const events: E[] = []
  let failure: unknown
  let completed = false
  run.subscribe({ next: (e) => events.push(e), error: (e: unknown) => (failure = e), complete: () => (completed = true) })
  if (failure !== undefined) throw failure
  if (!completed) throw new Error('the run did not complete synchronously')
  return events
}

/** Subscribes to a synchronous run that must fail, and returns its error. */
export const failureOf = (run: Observable<unknown>): unknown => {
  let failure: unknown
  run.subscribe({ error: (e: unknown) => (failure = e) })
  if (failure === undefined) throw new Error('the run did not fail')
  return failure
}
