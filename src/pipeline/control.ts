import { EMPTY, from, ignoreElements, merge, type ObservableInput } from 'rxjs'
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

/** What the loop needs to publish events. */
export interface Publisher<E> {
  readonly emit: (event: E) => void
  readonly clock: Clock
  readonly stop: StopSignal
}

/**
 * Emits one event and waits for the work its subscribers passed to `control.hold`. The window
 * for `hold` closes when emission returns: a hook must decide to hold while it handles the event.
 */
export function* publish<E>(publisher: Publisher<E>, make: (base: { time: number; control: LoopControl }) => NoInfer<E>): Program {
  const holds: ObservableInput<unknown>[] = []
  let open = true
  const control: LoopControl = {
    hold: (work) => {
      if (!open) throw new Error('rxtrain: control.hold() was called after the event was handled; call it synchronously in the handler')
      holds.push(work)
    },
    requestStop: publisher.stop.request,
    stopRequested: () => publisher.stop.reason() !== undefined,
  }
  publisher.emit(make({ time: publisher.clock.now(), control }))
  open = false
  yield holds.length === 0 ? EMPTY : merge(...holds.map((h) => from(h))).pipe(ignoreElements())
}
