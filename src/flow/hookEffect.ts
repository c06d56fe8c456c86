import type { ObservableInput } from 'rxjs'

/** Each attached hook's resumable state, encoded by its codec, by the hook's key (what a checkpoint stores). */
export type HookStates = Readonly<Record<string, unknown>>

/**
 * What an event left behind once every hook in the pipe has handled it: the states of all hooks
 * (encoded), and the stop requested by any of them. A checkpoint written after the event
 * (`afterAll`) stores exactly this.
 */
export interface Settled {
  readonly hookStates: HookStates
  readonly stopReason: string | undefined
}

/**
 * What a hook's reducer asks for, as data. The run interprets it: `stop` flows back to the loop,
 * `perform` and `update` start at once, `afterAll` starts once every hook has handled the event. The
 * loop does not go on to its next action before all of them have finished.
 */
export type HookEffect<S> =
  | { readonly _tag: 'Stop'; readonly reason: string }
  | { readonly _tag: 'Perform'; readonly task: () => ObservableInput<unknown> | void }
  | { readonly _tag: 'Update'; readonly task: () => ObservableInput<(state: S) => S> }
  | { readonly _tag: 'AfterAll'; readonly task: (settled: Settled) => ObservableInput<unknown> | void }

/**
 * Asks the loop to stop (Lightning's `trainer.should_stop = True`). The loop honours it once
 * `minEpochs` and `minSteps` are met.
 *
 * @example
 * const step = (s: number, e: FitEvent) => (e.type === 'epochEnd' && s > 3 ? [s, [stop('enough')]] : [s + 1]) as const
 */
export const stop = <S = never>(reason: string): HookEffect<S> => ({ _tag: 'Stop', reason })

/** Work to do now (a file write, a console line); the loop waits for it before its next action. */
export const perform = <S = never>(task: () => ObservableInput<unknown> | void): HookEffect<S> => ({ _tag: 'Perform', task })

/** Work whose result updates the hook's state when it finishes (e.g. rows read back from a log file on resume). */
export const update = <S>(task: () => ObservableInput<(state: S) => S>): HookEffect<S> => ({ _tag: 'Update', task })

/** Work that starts once every hook has handled the event, given what they left (a checkpoint write). */
export const afterAll = <S = never>(task: (settled: Settled) => ObservableInput<unknown> | void): HookEffect<S> => ({ _tag: 'AfterAll', task })
