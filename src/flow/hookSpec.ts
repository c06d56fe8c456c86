import type * as t from 'io-ts'
import type { Env } from '../effects/env.js'
import type { HookEffect } from './hookEffect.js'

/**
 * What a hook's reducer may use besides its state and the event: the run's effects, resolved once for the run.
 *
 * @example
 * const goodbye = (e: FitEvent, ctx: HookContext): HookEffect<null>[] =>
 *   e.type === 'fitEnd' ? [perform(() => ctx.env.console.out(`${ctx.key}: training ended (${e.reason})`))] : []
 * fit(module, { train, val }).pipe(hook({ kind: 'goodbye', init: () => null, step: (s, e, ctx) => [s, goodbye(e, ctx)] })).subscribe()
 */
export interface HookContext {
  /** The run's capabilities (file system, clock, console, terminal, signals). */
  readonly env: Env
  /** The key of this hook's state in checkpoints: its kind, with `#2`, `#3`... for later hooks of the same kind. */
  readonly key: string
}

/**
 * A reducer's answer: the next state, the effects to run (none when left out), and the event to
 * hand on in place of the one received (a changed copy, e.g. with extra metrics; the hooks after
 * this one see it as the run's event).
 *
 * @example
 * // counts training steps, and hands on each trainStep with the count as a metric
 * const step = (seen: number, e: FitEvent): HookResult<number, FitEvent> =>
 *   e.type === 'trainStep' ? [seen + 1, [], { ...e, metrics: { ...e.metrics, seen: seen + 1 } }] : [seen]
 */
export type HookResult<S, E = never> = readonly [S] | readonly [S, readonly HookEffect<S>[]] | readonly [S, readonly HookEffect<S>[], E]

/**
 * A hook as a pure reducer over the events of a run, with an io-ts codec for its resumable
 * state. `hook(spec)` turns it into an operator.
 *
 * @example
 * import * as t from 'io-ts'
 * const countSteps: HookSpec<number> = {
 *   kind: 'countSteps',
 *   codec: t.number,
 *   init: () => 0,
 *   step: (n, e) => [e.type === 'trainStep' ? n + 1 : n],
 * }
 */
export interface HookSpec<S, E extends { readonly type: string } = { readonly type: string }> {
  /** What the hook is, e.g. `'earlyStopping'`: the key of its state in checkpoints. */
  readonly kind: string
  /**
   * The event types the reducer acts on (default: all). The run waits for the hook only on
   * these, and the reducer sees only these: an operator before the hook may drop any other
   * event, also after an asynchronous operator, without holding up the run.
   */
  readonly on?: readonly E['type'][]
  /** Encodes the state into a checkpoint and decodes it on resume; a hook without one is not resumable. */
  readonly codec?: t.Type<S, unknown, unknown>
  /** The state at the start of a run (before a resumed run restores the checkpoint's). */
  readonly init: (ctx: HookContext) => S
  /** The reducer: must not touch the outside world; what it wants done it returns as effects. */
  readonly step: (state: S, event: E, ctx: HookContext) => HookResult<S, E>
}
