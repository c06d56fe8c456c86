import { EMPTY, isObservable } from 'rxjs'
import type { Program } from './drive.js'
import { publishEvent, waitingPhase } from './deliver.js'
import type { Flow, Outcome } from './flow.js'

/**
 * Publishes one event from a loop program and waits until it is settled (see `publishEvent`).
 * Answers the outcome: a stop requested by a hook, and whether anyone still listens.
 */
export function* publish<E>(flow: Flow, emit: (event: E) => boolean, event: E): Program<Outcome> {
  const result = publishEvent(flow, event, emit as (event: never) => boolean)
  if (isObservable(result)) {
    const leave = flow.phases?.enter(waitingPhase(flow))
    try {
      return (yield result) as Outcome
    } finally {
      leave?.()
    }
  }
  // A yield point when the subscriber left while the event was handled: the driver stops the program there.
  if (!result.listening) yield EMPTY
  return result
}
