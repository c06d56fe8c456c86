import { rxtrainError } from '../errors/rxtrainError.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { GradientTransform } from './transform.js'

/** The state of one member of a chain. */
type MemberState<T> = T extends GradientTransform<infer S> ? S : never

/**
 * The state of `chain(t0, t1, ...)`: the tuple of its members' states, in order.
 *
 * @example
 * const clip = optim.clipByGlobalNorm(1)
 * const adam = optim.scaleByAdam()
 * const optimizer = optim.chain(clip, adam)
 * const [clipState, adamState]: optim.ChainState<[typeof clip, typeof adam]> = optimizer.init(params) // [null, { count: 0, mu, nu }]
 */
export type ChainState<T extends readonly GradientTransform[]> = { readonly [K in keyof T]: MemberState<T[K]> }

/**
 * Composes transforms left to right: the updates leaving one member enter the next, and the
 * state is the tuple of the members' states. This is how optimizers are built, e.g.
 * `chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(1e-3))` is Adam with gradient
 * clipping. `chain()` is `identity()`.
 *
 * The chain forwards `observe` to the members that have one, merges the members'
 * `hyperparams` (a later member wins on a shared name), and guards non-finite updates when any
 * member does.
 *
 * @example
 * const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.trace({ decay: 0.9 }), optim.scaleByLearningRate(0.1))
 * const optState = optimizer.init(params)          // [null, { trace }, { count: 0 }]
 * const [updates, next] = tidy(() => optimizer.update(grads, optState, params))
 */
export const chain = <T extends readonly GradientTransform[]>(...transforms: T): GradientTransform<ChainState<T>> => {
  const members: readonly GradientTransform[] = transforms
  const statesOf = (state: readonly StateTree[]): readonly StateTree[] => {
    if (!Array.isArray(state) || state.length !== members.length)
      throw rxtrainError(
        'StructureError',
        `chain: expected a state tuple of ${members.length} member states, ` +
          `got ${Array.isArray(state) ? `${state.length}` : typeof state}`,
        'pass the state that this same chain built with init (or restored from its checkpoint).',
        { members: members.length },
      )
    return state
  }
  const observers = members.some((m) => m.observe !== undefined)
  const reporters = members.some((m) => m.hyperparams !== undefined)
  const composed: GradientTransform<readonly StateTree[]> = {
    init: (params) => members.map((m) => m.init(params)),
    update: (updates, state, params, ctx) => {
      const states = statesOf(state)
      let current: Params = updates
      const next: StateTree[] = []
      members.forEach((m, i) => {
        const [u, s] = m.update(current, states[i], params, ctx)
        current = u
        next.push(s)
      })
      return [current, next]
    },
    ...(observers && {
      observe: (state, metrics) => {
        const states = statesOf(state)
        return members.map((m, i) => (m.observe === undefined ? states[i] : m.observe(states[i], metrics)))
      },
    }),
    ...(reporters && {
      hyperparams: (state) => {
        const states = statesOf(state)
        return Object.assign({}, ...members.map((m, i) => m.hyperparams?.(states[i]) ?? {})) as Record<string, number>
      },
    }),
    guardsNonFinite: members.some((m) => m.guardsNonFinite === true),
    ...(members.some((m) => m.groups !== undefined) && { groups: members.flatMap((m) => m.groups ?? []) }),
  }
  return composed as unknown as GradientTransform<ChainState<T>>
}
