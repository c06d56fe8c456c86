import * as tf from '@tensorflow/tfjs-core'
import { type FiniteCheck, hostFinite } from '../backends/finite.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { mapParams } from '../tree/tree.js'
import { markPending, selectTree } from './deviceDecision.js'
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
 * that cannot read synchronously is a `ConfigError` (`applyIfFinite` and `skipNonFinite` decide on
 * the device there instead). Without one, it reads synchronously from the engine's current
 * backend. Releases its intermediates itself.
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
 * per step. On a backend without synchronous reads (webgpu in Node: `ctx.finite` has no `onHost`)
 * the decision is taken on the device instead: the inner update always runs, and the updates and
 * the inner state's tensors are selected with `tf.where` on the flag (bitwise what the host
 * branch gives). The counters and the inner state's host values (Adam's `count`) stay plain
 * numbers, given provisionally as if the update were finite: `trainStep` hands the flag to the
 * loop, which reads it with the loss and settles them (`StepResult.settle`), so a step with this
 * guard is read at once. Called by hand outside a step on such a backend, the counters are provisional.
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
  /** The decision on the device: both branches' tensors selected by the flag, host values settled later. */
  const onDevice = (updates: Params, state: ApplyIfFiniteState<S>, params: Params, ctx: UpdateContext, check: FiniteCheck): readonly [Params, ApplyIfFiniteState<S>] => {
    const flag = check.onDevice(updates)
    const [out, next] = inner.update(updates, state.inner, params, ctx)
    // Host-known: after this many non-finite updates in a row, a non-finite one is applied anyway.
    const appliedAnyway = state.notFiniteCount + 1 > maxConsecutiveErrors
    const ifFinite = { notFiniteCount: 0, lastFinite: true, totalNotFinite: state.totalNotFinite }
    const ifNotFinite = { notFiniteCount: state.notFiniteCount + 1, lastFinite: false, totalNotFinite: state.totalNotFinite + 1 }
    if (appliedAnyway) return [out, markPending({ ...ifFinite, inner: next }, { flag, hostIfNotFinite: { ...ifNotFinite, inner: next } })]
    const zeros = mapParams(updates, (t) => tf.zerosLike(t))
    const selected = { ...ifFinite, inner: selectTree(flag, next, state.inner) }
    return [selectTree(flag, out, zeros), markPending(selected, { flag, hostIfNotFinite: { ...ifNotFinite, inner: state.inner } })]
  }
  return {
    init: (params) => ({ notFiniteCount: 0, lastFinite: true, totalNotFinite: 0, inner: inner.init(params) }),
    update: (updates, state, params, ctx) => {
      const check = ctx?.finite
      if (check !== undefined && check.onHost === undefined) return onDevice(updates, state, params, ctx as UpdateContext, check)
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
