import { isLeft } from 'fp-ts/lib/Either.js'
import { EMPTY, ignoreElements, merge, type Observable, type ObservableInput } from 'rxjs'
import type { Env } from '../effects/env.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type Attachable, claimSubscribing } from './attach.js'
import type { HookStates, Settled } from './hookEffect.js'
import type { HookContext, HookSpec } from './hookSpec.js'
import { givePhaseClock, type PhaseClock, phaseClock, profilerOptionsOf } from './phaseClock.js'

/** One hook of a run, as the run sees it. */
export interface Member extends Attachable {
  readonly spec: HookSpec<unknown>
  /** The event types it acts on (undefined: all). */
  readonly on: ReadonlySet<string> | undefined
  flow: Flow | undefined
  index: number
  ctx: HookContext
  state: unknown
  /** Whether the operators between this hook and the one before it deliver synchronously (learned from the first event). */
  sync: boolean | undefined
}

/** What the loop learns once an event is settled. */
export interface Outcome {
  /** The first stop requested while the event was handled. */
  readonly stop: string | undefined
  /** False once nobody listens any more (the run was unsubscribed while the event was handled). */
  readonly listening: boolean
}

/** One event on its way through the pipe. */
export interface Delivery {
  /** The event as the hooks reached so far hand it on (a hook may replace it with a changed copy). */
  event: unknown
  /** Its number in the run. */
  readonly number: number
  /** The last hook that acts on it (-1: none): the run waits for the hooks up to there. */
  readonly lastWanting: number
  /** Hooks that have received it: always a prefix of the pipe. */
  reached: number
  /** An operator dropped it before hook `reached`: the hooks from there on will never see it. */
  dropped: boolean
  pending: number
  afterAll: ((settled: Settled) => ObservableInput<unknown> | void)[] | undefined
  /** The hook that asked for each of `afterAll`'s tasks (its index). */
  afterAllBy: number[] | undefined
  /** The hooks whose work for this event is still running (index: how many pieces), for the profiler. */
  readonly working: Map<number, number>
  stops: string[] | undefined
  failure: { readonly error: unknown } | undefined
  listening: boolean
  done: boolean
  notify: (() => void) | undefined
}

/**
 * A run's side of the flow control: the hooks downstream of it, their states, and the event on
 * its way. The loop publishes one event at a time and goes on only once it is settled: every
 * hook has handled it (or an operator before a hook dropped it) and the work the hooks asked for
 * has finished. See the README's "Flow control" for why this is decided by the hooks.
 */
export interface Flow {
  readonly members: readonly Member[]
  /** Index of the hook whose upstream operators are delivering right now (-1: none). */
  delivering: number
  current: Delivery | undefined
  /** Events published so far (each event's number in the run). */
  published: number
  readonly inflight: Set<Observable<never>>
  /** Where the run says that it is still waiting for a hook to receive an event. */
  readonly console: Env['console']
  /** The run's phase clock, when a `profiler()` is among its hooks (undefined: nothing is timed). */
  readonly phases: PhaseClock | undefined
}


/**
 * The flow of a run being subscribed now: it claims the hooks downstream of it and gives each
 * its initial state and the run's environment.
 */
export const claimFlow = (env: Env): Flow => {
  const members = claimSubscribing<Member>()
  const profiler = members.map((m) => profilerOptionsOf(m.spec)).find((o) => o !== undefined)
  const phases = profiler === undefined ? undefined : phaseClock(env.clock, profiler)
  const flow: Flow = { members, delivering: -1, current: undefined, published: 0, inflight: new Set(), console: env.console, phases }
  const seen = new Map<string, number>()
  members.forEach((m, index) => {
    const n = (seen.get(m.spec.kind) ?? 0) + 1
    seen.set(m.spec.kind, n)
    m.flow = flow
    m.index = index
    m.ctx = { env, key: n === 1 ? m.spec.kind : `${m.spec.kind}#${n}` }
    if (phases !== undefined && profilerOptionsOf(m.spec) !== undefined) givePhaseClock(m.ctx, phases)
    m.state = m.spec.init(m.ctx)
  })
  return flow
}

/** How the profiler names a hook: its place in the pipe (from 1) and its key, e.g. `hook 2 checkpoint`. */
export const hookPhase = (m: Member): string => `hook ${m.index + 1} ${m.ctx.key}`

/** Restores each hook's state from a checkpoint's hook states (by key); a state that does not decode is a `CheckpointError`. */
export const restoreStates = (flow: Flow, states: HookStates): void => {
  for (const m of flow.members) {
    const codec = m.spec.codec
    if (codec === undefined || !(m.ctx.key in states)) continue
    const decoded = codec.decode(states[m.ctx.key])
    if (isLeft(decoded))
      throw rxtrainError(
        'CheckpointError',
        `the checkpoint's state of hook '${m.ctx.key}' does not decode as that hook's state`,
        'resume with the same hooks that wrote the checkpoint, or start a fresh run.',
        { hook: m.ctx.key },
      )
    m.state = decoded.right
  }
}

/** Every resumable hook's state, encoded, by key. */
export const hookStatesOf = (flow: Flow): HookStates => {
  const out: Record<string, unknown> = {}
  for (const m of flow.members) if (m.spec.codec !== undefined) out[m.ctx.key] = m.spec.codec.encode(m.state)
  return out
}

/** Waits until all hook work still running has ended (failures ignored: the run is ending anyway). */
export const settleFlow = (flow: Flow): Observable<never> =>
  flow.inflight.size === 0 ? EMPTY : merge(...flow.inflight).pipe(ignoreElements())
