import { catchError, EMPTY, from, ignoreElements, merge, type Observable, type ObservableInput, ReplaySubject } from 'rxjs'
import type { Clock } from '../effects/clock.js'
import type { Program } from './drive.js'
import type { HookStates, LoopControl } from './events.js'

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
  /** Emits an event; answers false once nobody listens any more (void: unknown). */
  readonly emit: (event: E) => boolean | void
  readonly clock: Clock
  readonly stop: StopSignal
  /** Work passed to `hold` that has not finished yet. */
  readonly inflight: Set<Observable<never>>
  /** The latest state each stateful hook reported, by hook name (what checkpoints store). */
  readonly hookStates: Map<string, unknown>
  /** `LoopControl` without `hold`, which belongs to each event (made once: events are many). */
  readonly controls: Omit<LoopControl, 'hold'>
}

export const publisher = <E>(emit: (event: E) => boolean | void, clock: Clock, hookStates: HookStates = {}): Publisher<E> => {
  const stop = stopSignal()
  const states = new Map(Object.entries(hookStates))
  return {
    emit,
    clock,
    stop,
    inflight: new Set(),
    hookStates: states,
    controls: {
      requestStop: stop.request,
      stopRequested: () => stop.reason() !== undefined,
      pendingStop: () => stop.reason(),
      setHookState: (name, state) => {
        states.set(name, state)
      },
      hookStates: () => Object.fromEntries(states),
    },
  }
}

/**
 * Starts a hook's work and tracks it until it settles. The work runs to its end even if the run
 * is cancelled meanwhile: a checkpoint write is never cut in half, and the loop releases no
 * tensor the work may still read (see `settleHolds`).
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

/** Work for `hold`: started at once, or, given as a function, once every hook has seen the event. */
export type HoldWork = ObservableInput<unknown> | (() => ObservableInput<unknown>)

/**
 * Emits one event and waits for the work its subscribers passed to `control.hold`. The window
 * for `hold` closes when emission returns: a hook must decide to hold while it handles the event.
 * Work given as a function starts only after the event has passed through the whole pipe, so a
 * checkpoint written there sees the states of hooks placed after it.
 */
export function* publish<E>(out: Publisher<E>, make: (base: { time: number; control: LoopControl }) => NoInfer<E>): Program {
  const works: HoldWork[] = []
  let open = true
  const hold = (work: HoldWork): void => {
    if (!open) throw new Error('rxtrain: control.hold() was called after the event was handled; call it synchronously in the handler')
    works.push(work)
  }
  const { requestStop, stopRequested, pendingStop, setHookState, hookStates } = out.controls
  // Field by field: spreading `controls` and adding `hold` takes V8's slow path (~0.7 µs per event).
  const control: LoopControl = { hold, requestStop, stopRequested, pendingStop, setHookState, hookStates }
  const listening = out.emit(make({ time: out.clock.now(), control }))
  open = false
  if (works.length === 0) {
    // A yield point when the subscriber left while the event was handled (or may have): the
    // driver then stops the program there.
    if (listening !== true) yield EMPTY
    return
  }
  const holds = works.map((w) => track(out.inflight, typeof w === 'function' ? w() : w))
  yield merge(...holds).pipe(ignoreElements())
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
