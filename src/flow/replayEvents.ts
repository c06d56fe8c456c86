import { defer, type Observable } from 'rxjs'
import { type Env, liveEnv } from '../effects/env.js'
import { drive, type Program, wait } from './drive.js'
import { claimFlow, hookStatesOf, type Outcome, restoreStates, settleFlow } from './flow.js'
import type { HookStates } from './hookEffect.js'
import { publish } from './publish.js'

/**
 * `replayEvents`'s options: the capabilities and starting hook states the hooks see, and a callback per settled event.
 *
 * @example
 * const fs = effects.memoryFileSystem()
 * const options: ReplayOptions<FitEvent> = { env: { fs }, onSettled: (e, outcome) => console.log(e.type, outcome.stop) }
 * await lastValueFrom(replayEvents(events, options).pipe(csvLogger({ dir: 'runs/replay' })))
 * console.log(await fs.readText('runs/replay/metrics.csv')())
 */
export interface ReplayOptions<E> {
  /** The capabilities the hooks get (live ones where left out). */
  readonly env?: Partial<Env>
  /** Hook states to start from, as a checkpoint stores them. */
  readonly hookStates?: HookStates
  /** Called once each event is settled, with its outcome and every hook's state then. */
  readonly onSettled?: (event: E, outcome: Outcome, hookStates: HookStates) => void
}

/**
 * A run made of given events: the hooks placed after it see them one at a time, each settled
 * before the next, exactly as in `fit`. For testing a hook without training anything.
 *
 * @example
 * const stops: string[] = []
 * replayEvents(events, { onSettled: (_, o) => o.stop !== undefined && stops.push(o.stop) })
 *   .pipe(earlyStopping({ monitor: 'val/loss', patience: 1 }))
 *   .subscribe()
 */
export const replayEvents = <E>(events: Iterable<E | (() => E)>, options: ReplayOptions<E> = {}): Observable<E> =>
  defer(() => {
    const flow = claimFlow({ ...liveEnv, ...options.env })
    if (options.hookStates !== undefined) restoreStates(flow, options.hookStates)
    return drive<E>(function* (emit): Program {
      try {
        for (const item of events) {
          const event = typeof item === 'function' ? (item as () => E)() : item
          const outcome = yield* publish(flow, emit, event)
          options.onSettled?.(event, outcome, hookStatesOf(flow))
          if (!outcome.listening) return
        }
      } finally {
        yield* wait(settleFlow(flow))
      }
    })
  })
