import { catchError, EMPTY, from, ignoreElements, merge, type Observable, type ObservableInput, ReplaySubject } from 'rxjs'
import type { Clock } from '../effects/clock.js'
import type { Program } from './drive.js'
import type { LoopControl } from './events.js'

/** The loop's record of a pending stop request (Lightning's `should_stop`). */
export interface StopSignal {
  readonly reason: () => string | undefined
  readonly request: (reason: string) => void
}

export const stopSignal = (): StopSignal => {
  let reason: string | undefined
  return {
    reason: () => reason,
    request: (r) => {
      reason ??= r
    },
  }
}

/** What a loop needs to publish events, and the hook work still running. */
export interface Publisher<E> {
  readonly emit: (event: E) => void
  readonly clock: Clock
  readonly stop: StopSignal
  /** Work passed to `hold` that has not finished yet. */
  readonly inflight: Set<Observable<never>>
}

export const publisher = <E>(emit: (event: E) => void, clock: Clock, stop: StopSignal = stopSignal()): Publisher<E> => ({
  emit,
  clock,
  stop,
  inflight: new Set(),
})

/**
 * Starts a hook's work at once and tracks it until it settles. The work runs to its end even if
 * the run is cancelled meanwhile: a checkpoint write is never cut in half, and the loop releases
 * no tensor the work may still read (see `settleHolds`).
 */
const track = (inflight: Set<Observable<never>>, work: ObservableInput<unknown>): Observable<never> => {
  const settled = new ReplaySubject<never>()
  inflight.add(settled)
  from(work).subscribe({
    error: (e: unknown) => {
      inflight.delete(settled)
      settled.error(e)
    },
    complete: () => {
      inflight.delete(settled)
      settled.complete()
    },
  })
  return settled
}

/**
 * Emits one event and waits for the work its subscribers passed to `control.hold`. The window
 * for `hold` closes when emission returns: a hook must decide to hold while it handles the event.
 */
export function* publish<E>(out: Publisher<E>, make: (base: { time: number; control: LoopControl }) => NoInfer<E>): Program {
  const holds: Observable<never>[] = []
  let open = true
  const control: LoopControl = {
    hold: (work) => {
      if (!open) throw new Error('rxtrain: control.hold() was called after the event was handled; call it synchronously in the handler')
      holds.push(track(out.inflight, work))
    },
    requestStop: out.stop.request,
    stopRequested: () => out.stop.reason() !== undefined,
  }
  out.emit(make({ time: out.clock.now(), control }))
  open = false
  yield holds.length === 0 ? EMPTY : merge(...holds).pipe(ignoreElements())
}

/**
 * Waits until every held piece of work has settled (failures ignored: the run is ending anyway).
 * Loops call it in their `finally`, before releasing tensors, so a cancelled run does not pull
 * the state from under a checkpoint that is still being written.
 */
export function* settleHolds<E>(out: Publisher<E>): Program {
  if (out.inflight.size === 0) return
  yield merge(...[...out.inflight].map((w) => w.pipe(catchError(() => EMPTY)))).pipe(ignoreElements())
}
