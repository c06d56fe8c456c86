import { from, Observable, type ObservableInput, ReplaySubject, type Subscriber, timer } from 'rxjs'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type Delivery, type Flow, hookPhase, hookStatesOf, type Member, type Outcome } from './flow.js'
import type { HookEffect, Settled } from './hookEffect.js'

/*
 * How one event travels through a run's hooks: publishing it, each hook receiving it, handing it
 * on, interpreting the effects the hooks return, and settling it.
 */

/**
 * Each published event carries its number in the run under this symbol, enumerable so that the
 * copies operators make (`map((e) => ({ ...e }))`) carry it too: a hook tells the run's current
 * event from an earlier one still on its way (one no hook waited for) by it.
 */
const eventNumber: unique symbol = Symbol('rxtrain.eventNumber')

const numberOf = (event: unknown): number | undefined =>
  typeof event === 'object' && event !== null ? ((event as { [eventNumber]?: number })[eventNumber] ?? undefined) : undefined

const stamp = (event: unknown, n: number): void => {
  if (typeof event === 'object' && event !== null && !Object.isFrozen(event) && numberOf(event) !== n)
    Object.defineProperty(event, eventNumber, { value: n, enumerable: true, configurable: true, writable: false })
}

const listeningOutcome: Outcome = { stop: undefined, listening: true }
const leftOutcome: Outcome = { stop: undefined, listening: false }

/**
 * Starts a piece of hook work; it runs to its end even if the run is cancelled meanwhile (a
 * checkpoint write is never cut in half). A task that throws, or rejects, fails the event: the
 * loop then fails with that error.
 */
const start = (flow: Flow, d: Delivery, task: () => ObservableInput<unknown> | void, by: number, onValue?: (v: unknown) => void): void => {
  let work: ObservableInput<unknown> | void
  try {
    work = task()
  } catch (error) {
    d.failure ??= { error }
    return
  }
  if (work === undefined || work === null) return
  d.pending++
  d.working.set(by, (d.working.get(by) ?? 0) + 1)
  const ended = new ReplaySubject<never>()
  flow.inflight.add(ended)
  let finished = false
  const end = (failure?: { error: unknown }): void => {
    if (finished) return
    finished = true
    flow.inflight.delete(ended)
    d.pending--
    const left = (d.working.get(by) ?? 1) - 1
    if (left > 0) d.working.set(by, left)
    else d.working.delete(by)
    if (failure !== undefined) d.failure ??= failure
    ended.complete()
    check(flow, d)
  }
  try {
    from(work).subscribe({ next: onValue, error: (error: unknown) => end({ error }), complete: () => end() })
  } catch (error) {
    // Not an ObservableInput (e.g. a TaskEither not yet called), or a subscription that threw.
    end({ error })
  }
}

const interpret = (flow: Flow, m: Member, d: Delivery, effects: readonly HookEffect<unknown>[]): void => {
  for (const effect of effects) {
    switch (effect._tag) {
      case 'Stop':
        ;(d.stops ??= []).push(effect.reason)
        break
      case 'Perform':
        start(flow, d, effect.task, m.index)
        break
      case 'Update':
        start(flow, d, effect.task, m.index, (f) => {
          m.state = (f as (s: unknown) => unknown)(m.state)
        })
        break
      case 'AfterAll':
        ;(d.afterAll ??= []).push(effect.task)
        ;(d.afterAllBy ??= []).push(m.index)
        break
    }
  }
}

/** Settles the delivery once every hook has had it and the work it asked for is done. */
const check = (flow: Flow, d: Delivery): void => {
  if (d.done) return
  if (d.failure === undefined) {
    if (!d.dropped && d.reached <= d.lastWanting) return
    if (d.pending > 0) return
    const after = d.afterAll
    if (after !== undefined) {
      d.afterAll = undefined
      const by = d.afterAllBy ?? []
      d.afterAllBy = undefined
      const settled: Settled = { hookStates: hookStatesOf(flow), stopReason: d.stops?.[0] }
      after.forEach((task, i) => start(flow, d, () => task(settled), by[i] ?? -1))
      if (d.pending > 0 || d.failure !== undefined) return check(flow, d)
    }
  }
  d.done = true
  if (flow.current === d) flow.current = undefined
  d.notify?.()
}

/** After the operators before hook `j` returned from delivering `d` synchronously: if they did not hand it on, they dropped it. */
const afterForward = (flow: Flow, d: Delivery, j: number): void => {
  if (j < flow.members.length && d.reached <= j && flow.members[j]?.sync === true) d.dropped = true
}

/**
 * A hook received an event: learn how its upstream delivers, run its reducer, start its
 * effects, hand the event on, and settle what can be settled.
 */
export const receive = (m: Member, event: unknown, downstream: Subscriber<unknown>): void => {
  const flow = m.flow as Flow
  const d = flow.current
  const wanted = m.on === undefined || m.on.has((event as { type: string }).type)
  // The run's events carry their number (copies too); one that reaches a hook that has not had
  // the current event yet, and carries no number (rebuilt by an operator), is taken as it.
  const n = numberOf(event)
  const late = n !== undefined && (d === undefined || n < d.number)
  if (d === undefined || d.reached > m.index || late || (n !== undefined && n !== d.number)) {
    if (wanted && late) {
      downstream.error(
        rxtrainError(
          'FlowError',
          `hook '${m.ctx.key}' received a '${(event as { type?: string }).type}' event after the run had gone on without it`,
          'an operator before it delivered this event late though it delivered earlier ones at once; rxtrain cannot wait for such an operator. Make its delivery always synchronous or always asynchronous (e.g. observeOn(asapScheduler)).',
          { hook: m.ctx.key },
        ),
      )
      return
    }
    // An event this hook does not act on that arrives after the run went on, or one that is not
    // of this run (merged in by the user): handed on untouched.
    downstream.next(event)
    return
  }
  m.sync ??= flow.delivering === m.index
  if (!wanted) {
    d.reached = m.index + 1
    forward(flow, m, d, event, downstream)
    return
  }
  let result: ReturnType<Member['spec']['step']>
  // The reducer, then its effects started (their synchronous part: the profiler counts it as the hook's).
  const handle = (): ReturnType<Member['spec']['step']> => {
    const r = m.spec.step(m.state, event as { readonly type: string }, m.ctx)
    m.state = r[0]
    const effects = r[1]
    if (effects !== undefined && effects.length > 0) interpret(flow, m, d, effects)
    return r
  }
  try {
    result = flow.phases === undefined ? handle() : flow.phases.time(hookPhase(m), handle)
  } catch (error) {
    downstream.error(error)
    return
  }
  const out = result.length === 3 ? result[2] : event
  if (out !== event) {
    // The hooks after this one act on the copy.
    stamp(out, d.number)
    d.event = out
  }
  // Only now: work that ended synchronously above must not settle the event before this hook's `afterAll`.
  d.reached = m.index + 1
  forward(flow, m, d, out, downstream)
}

/** Hands the event on to the operators after hook `m`, and learns whether they dropped it. */
const forward = (flow: Flow, m: Member, d: Delivery, event: unknown, downstream: Subscriber<unknown>): void => {
  const before = flow.delivering
  flow.delivering = m.index + 1
  try {
    downstream.next(event)
  } finally {
    flow.delivering = before
  }
  afterForward(flow, d, m.index + 1)
  check(flow, d)
}

/**
 * Publishes one event: hands it to the pipe (`emit` answers whether anyone still listens) and
 * answers its outcome, at once when it settled synchronously, else as an Observable of it.
 */
export const publishEvent = (flow: Flow, event: unknown, emit: (event: never) => boolean): Outcome | Observable<Outcome> => {
  let lastWanting = flow.members.length - 1
  const type = (event as { type?: string }).type as string
  while (lastWanting >= 0 && flow.members[lastWanting]?.on?.has(type) === false) lastWanting--
  const number = flow.published++
  stamp(event, number)
  const d: Delivery = {
    event,
    number,
    lastWanting,
    reached: 0,
    dropped: false,
    pending: 0,
    afterAll: undefined,
    afterAllBy: undefined,
    working: new Map(),
    stops: undefined,
    failure: undefined,
    listening: true,
    done: false,
    notify: undefined,
  }
  flow.current = d
  flow.delivering = 0
  try {
    d.listening = emit(event as never)
  } finally {
    flow.delivering = -1
  }
  afterForward(flow, d, 0)
  check(flow, d)
  if (!d.listening) d.done = true
  if (d.done) {
    if (d.failure !== undefined) throw d.failure.error
    return d.stops === undefined ? (d.listening ? listeningOutcome : leftOutcome) : { stop: d.stops[0], listening: d.listening }
  }
  return new Observable<Outcome>((s) => {
    d.notify = () => {
      if (d.failure !== undefined) s.error(d.failure.error)
      else {
        s.next({ stop: d.stops?.[0], listening: d.listening })
        s.complete()
      }
    }
    if (d.done) d.notify()
    const watch = timer(receiptPatienceMs).subscribe(() => warnIfUnreceived(flow, d))
    return () => {
      d.notify = undefined
      watch.unsubscribe()
    }
  })
}

/**
 * What the loop waits for while an event is not settled, as the profiler names it: the work a hook
 * started (a checkpoint write: `hook 2 checkpoint (work)`), else the delivery of the event to a
 * hook behind an asynchronous operator (`hook 3 csvLogger (delivery)`).
 */
export const waitingPhase = (flow: Flow): string => {
  const d = flow.current
  if (d === undefined) return 'hooks (waiting)'
  const by = [...d.working.keys()].sort((a, b) => a - b).flatMap((i) => flow.members[i] ?? [])
  if (by.length > 0) return `${by.map(hookPhase).join(' + ')} (work)`
  const next = flow.members[d.reached]
  return next === undefined ? 'hooks (waiting)' : `${hookPhase(next)} (delivery)`
}

/** How long the run waits for a hook to receive an event before it says so. */
export const receiptPatienceMs = 30_000

/**
 * An event a hook acts on, dropped after an asynchronous operator before that hook, looks to the
 * run like one that is late: it waits. It says so (never silently) when the hook has not received
 * the event for a while; work the hooks started (a slow write) is not what it waits for then.
 */
const warnIfUnreceived = (flow: Flow, d: Delivery): void => {
  if (d.done || d.dropped || d.reached > d.lastWanting) return
  const hook = flow.members[d.reached]?.ctx.key ?? '?'
  const type = (d.event as { type?: string }).type
  flow.console.err(
    `rxtrain: the run has waited ${receiptPatienceMs / 1000} s for hook '${hook}' to receive a '${type}' event. An operator before the hook may have dropped it after an asynchronous operator (observeOn, delay, concatMap), which rxtrain cannot tell from a delay: drop events after the hooks, or before the asynchronous operator (README, Flow control).`,
  )
}

