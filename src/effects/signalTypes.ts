import type { Observable } from 'rxjs'

/**
 * The termination signals a run reacts to.
 *
 * @example
 * const signals = effects.manualSignals()
 * const stop = signals.onInterrupt((s: effects.InterruptSignal) => console.error(`got ${s}, saving and stopping`))
 * signals.raise('SIGTERM')
 * stop()
 */
export type InterruptSignal = 'SIGINT' | 'SIGTERM'

/**
 * The process-signal capability: a run subscribes while it trains, so that Ctrl-C (SIGINT) or a
 * scheduler's SIGTERM stops it at the next step boundary, with time to write a `last`
 * checkpoint and flush its logs, instead of killing it mid-write.
 *
 * @example
 * // a time limit as an interrupt: after an hour the run stops at a step boundary and checkpoints
 * const deadline: effects.Signals = {
 *   ...effects.processSignals,   // its letIn: the loop yields to the event loop, so the timer can fire
 *   onInterrupt: (h) => { const t = setTimeout(() => h('SIGTERM'), 3_600_000); return () => clearTimeout(t) },
 * }
 * fit(module, { train, val }, {}, { signals: deadline }).pipe(checkpoint()).subscribe()
 */
export interface Signals {
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onInterrupt(handler: (signal: InterruptSignal) => void): () => void
  /**
   * Something to wait for so that signals sent to the process can be delivered, or undefined
   * when no wait is due. A loop whose data is in memory runs synchronously from step to step;
   * Node delivers signals only between tasks, so the loop yields to the event loop now and then.
   */
  letIn?(): Observable<unknown> | undefined
}
