import { type MonoTypeOperatorFunction, Observable, Subscriber } from 'rxjs'
import { rxtrainError } from '../errors/rxtrainError.js'
import { whileSubscribing } from './attach.js'
import type { Member } from './flow.js'
import { receive } from './deliver.js'
import type { HookSpec } from './hookSpec.js'

/**
 * Turns a reducer over a run's events into an operator for `pipe(...)`. The run it is placed
 * after waits, before its next action, until the reducer has seen each event (wherever the event
 * is delayed on its way: `observeOn`, `delay`, `concatMap` ...) and the effects it returned have
 * finished. Its state is restored from checkpoints under its `kind` (`kind#2` for a second hook
 * of that kind). A hook that is not downstream of a run (`fit`, `validate`, `test`, `predict`,
 * `replayEvents`) fails at subscription with a `FlowError`.
 *
 * @example
 * import { filter } from 'rxjs'
 * const stopAfter = (n: number) =>
 *   hook<number, FitEvent>({
 *     kind: 'stopAfter',
 *     codec: t.number,
 *     init: () => 0,
 *     step: (seen, e) => (e.type !== 'trainStep' ? [seen] : seen + 1 >= n ? [seen + 1, [stop(`${n} steps`)]] : [seen + 1]),
 *   })
 * fit(module, { train, val }).pipe(observeOn(asyncScheduler), stopAfter(10), filter((e) => e.type === 'fitEnd'))
 */
export const hook =
  <S, E extends { readonly type: string }>(spec: HookSpec<S, E>): MonoTypeOperatorFunction<E> =>
  (source) =>
    new Observable<E>((subscriber) => {
      const member: Member = {
        spec: spec as unknown as HookSpec<unknown>,
        on: spec.on === undefined ? undefined : new Set(spec.on),
        claimed: false,
        flow: undefined,
        index: -1,
        ctx: undefined as never,
        state: undefined,
        sync: undefined,
      }
      // Linked to the subscriber before the source is subscribed, so that a consumer leaving during a
      // synchronous run (take, first) closes the run's side at once.
      const inner = new Subscriber<E>({
        next: (event) => {
          if (member.flow === undefined) subscriber.next(event)
          else receive(member, event, subscriber as never)
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      })
      subscriber.add(inner)
      const subscription = whileSubscribing(member, () => source.subscribe(inner))
      if (member.flow === undefined && !subscriber.closed)
        subscriber.error(
          rxtrainError(
            'FlowError',
            `hook '${spec.kind}' is not downstream of a run`,
            'place it in the pipe of fit(...), validate(...), test(...), predict(...) or replayEvents(...); an operator that subscribes later (subscribeOn, a second subscriber of share()) cuts it off from the run.',
            { hook: spec.kind },
          ),
        )
      return subscription
    })
