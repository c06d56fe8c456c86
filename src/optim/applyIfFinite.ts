import * as tf from '@tensorflow/tfjs-core'
import { type FiniteCheck, hostFinite } from '../backends/finite.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { mapParams } from '../tree/tree.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { GradientTransform, UpdateContext } from './transform.js'
import { requireConfig } from './validate.js'

/**
 * Options of `applyIfFinite`.
 *
 * @example
 * const options: optim.ApplyIfFiniteOptions = { maxConsecutiveErrors: 5 }
 * const optimizer = optim.applyIfFinite(optim.adam({ lr: 1e-3 }), options)
 */
export interface ApplyIfFiniteOptions {
  /**
   * After this many non-finite updates in a row, the next non-finite one is applied anyway
   * (Optax semantics: applied when the consecutive count exceeds this). Default `Infinity`:
   * never apply a non-finite update.
   */
  readonly maxConsecutiveErrors?: number
}

/**
 * The guard's counters (plain numbers and booleans, so they log and serialise) and the inner state.
 *
 * @example
 * const optimizer = optim.applyIfFinite(optim.sgd({ lr: 0.1 }))
 * const guard: optim.ApplyIfFiniteState<StateTree> = optimizer.init(params)
 * console.log(guard.totalNotFinite) // 0: non-finite updates skipped so far
 */
export type ApplyIfFiniteState<S extends StateTree> = {
  /** Non-finite updates in a row, reset to 0 by a finite one. */
  readonly notFiniteCount: number
  /** Whether the last update was finite. */
  readonly lastFinite: boolean
  /** Non-finite updates seen over the whole run. */
  readonly totalNotFinite: number
  readonly inner: S
}

/**
 * Whether every element of every leaf is finite: one host read of a single boolean (this
 * synchronises with the device). `check` is the run's backend's (`backend.finite`); a backend
 * that cannot read synchronously is a `ConfigError`. Without one, it reads synchronously from the
 * engine's current backend. Releases its intermediates itself.
 */
export const allFinite = (tree: Params, check?: FiniteCheck, backendName = 'this backend'): boolean => {
  if (check === undefined) return hostFinite(tree)
  if (check.onHost === undefined)
    throw rxtrainError(
      'ConfigError',
      `checking that every update is finite needs a synchronous read, which ${backendName} in Node does not have`,
      'leave applyIfFinite out of the optimizer chain on this backend, or train on cpu, wasm or tensorflow.',
      { backend: backendName },
    )
  return check.onHost(tree)
}

const finiteIn = (tree: Params, ctx: UpdateContext | undefined): boolean => allFinite(tree, ctx?.finite, ctx?.name)

/**
 * Guards `inner` against non-finite updates (Optax `apply_if_finite`): when every incoming
 * update is finite, `inner` runs as usual; otherwise the result is a tree of zeros, the inner
 * state is returned unchanged (the very same value), and the counters record the event. After
 * `maxConsecutiveErrors` non-finite updates in a row the next one goes through `inner` anyway.
 * Marks itself `guardsNonFinite`, so the training loop keeps going through a non-finite loss.
 *
 * Cost: each update reads one boolean back from the device (`dataSync`), a synchronisation point
 * per step; the check must be a host decision because the branch selects a whole state.
 *
 * @example
 * const optimizer = optim.applyIfFinite(optim.adam({ lr: 1e-3 }), { maxConsecutiveErrors: 5 })
 */
export const applyIfFinite = <S extends StateTree>(
  inner: GradientTransform<S>,
  options: ApplyIfFiniteOptions = {},
): GradientTransform<ApplyIfFiniteState<S>> => {
  const { maxConsecutiveErrors = Infinity } = options
  requireConfig(
    maxConsecutiveErrors === Infinity || (Number.isInteger(maxConsecutiveErrors) && maxConsecutiveErrors >= 0),
    'applyIfFinite',
    'maxConsecutiveErrors',
    maxConsecutiveErrors,
    'an integer >= 0 or Infinity',
  )
  const { observe, hyperparams } = inner
  return {
    init: (params) => ({ notFiniteCount: 0, lastFinite: true, totalNotFinite: 0, inner: inner.init(params) }),
    update: (updates, state, params, ctx) => {
      const finite = finiteIn(updates, ctx)
      const notFiniteCount = finite ? 0 : state.notFiniteCount + 1
      const totalNotFinite = finite ? state.totalNotFinite : state.totalNotFinite + 1
      const counters = { notFiniteCount, lastFinite: finite, totalNotFinite }
      if (finite || notFiniteCount > maxConsecutiveErrors) {
        const [out, next] = inner.update(updates, state.inner, params, ctx)
        return [out, { ...counters, inner: next }]
      }
      return [mapParams(updates, (t) => tf.zerosLike(t)), { ...counters, inner: state.inner }]
    },
    ...(observe !== undefined && {
      observe: (state: ApplyIfFiniteState<S>, metrics: Readonly<Record<string, number>>) => ({
        ...state,
        inner: observe.call(inner, state.inner, metrics),
      }),
    }),
    ...(hyperparams !== undefined && {
      hyperparams: (state: ApplyIfFiniteState<S>) => hyperparams.call(inner, state.inner),
    }),
    guardsNonFinite: true,
    ...(inner.groups !== undefined && { groups: inner.groups }),
  }
}
