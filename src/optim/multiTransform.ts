import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { flattenParams, unflattenParams } from '../tree/tree.js'
import type { Params, StateTree } from '../tree/tree.js'
import { identity } from './identity.js'
import type { EmptyState } from './identity.js'
import type { GradientTransform, UpdateContext } from './transform.js'

/**
 * A test on one parameter leaf, by its path (keys joined with `/`, e.g. `backbone/dense0/kernel`)
 * and its tensor: how `masked`, `freeze` and `multiTransform` choose leaves.
 *
 * @example
 * const isBackbone: optim.LeafPredicate = (path) => path.startsWith('backbone/')
 * const optimizer = optim.freeze(isBackbone, optim.adam({ lr: 1e-3 }))
 */
export type LeafPredicate = (path: string, leaf: tf.Tensor) => boolean

/**
 * The state of `multiTransform`: each group's own state, built by `init` on that group's leaves
 * only, under the group's label.
 *
 * @example
 * const optimizer = optim.multiTransform({ d: optim.adam({ lr: 2e-4 }), g: optim.sgd({ lr: 0.1 }) }, (path) => (path.startsWith('disc/') ? 'd' : 'g'))
 * const groups: optim.MultiTransformState<'d' | 'g'> = optimizer.init(params) // { d: AdamState of disc/*, g: state of gen/* }
 */
export type MultiTransformState<L extends string> = { readonly [K in L]: StateTree }

/** The leaves of `tree` (`flattenParams` order) that `keep` chooses, as a tree of their own (same paths). */
const subtreeOf = (leaves: readonly { readonly path: string; readonly tensor: tf.Tensor }[]): Params => {
  const root: Record<string, unknown> = {}
  for (const { path, tensor } of leaves) {
    const keys = path.split('/')
    let node = root
    for (const key of keys.slice(0, -1)) {
      const child = (node[key] ??= {}) as Record<string, unknown>
      node = child
    }
    node[keys[keys.length - 1] as string] = tensor
  }
  return root as Params
}

/** `ctx` without its `group` (the group is chosen here; the members update as usual). */
const withoutGroup = (ctx: UpdateContext | undefined): UpdateContext | undefined => {
  if (ctx === undefined) return undefined
  const { group: _chosen, ...rest } = ctx
  return rest
}

/** The label of every leaf of `params`, checked against the known labels. */
const labelsOf = <L extends string>(params: Params, labelOf: (path: string, leaf: tf.Tensor) => L, known: ReadonlySet<string>): L[] =>
  flattenParams(params).map(({ path, tensor }) => {
    const label = labelOf(path, tensor)
    if (!known.has(label))
      throw rxtrainError(
        'ConfigError',
        `multiTransform: leaf ${path} has label '${String(label)}', which names no transform (known: ${[...known].join(', ')})`,
        'return one of the transforms\' labels from labelOf, or add a transform for this label (optim.freeze() for leaves to keep fixed).',
        { path, label: String(label) },
      )
    return label
  })

/** `tree`'s leaves whose label is `label`, as a tree of their own. */
const groupOf = (tree: Params, labels: readonly string[], label: string): Params =>
  subtreeOf(flattenParams(tree).filter((_, i) => labels[i] === label))

/**
 * Gives each parameter group its own transform (Optax `multi_transform`, PyTorch's parameter
 * groups, Lightning's several optimizers): `labelOf` names the group of every leaf, and each
 * group's transform sees only that group's leaves, in `init` and in `update`. So a group's
 * optimizer state holds that group's leaves only, and its learning rate, schedule, clipping and
 * step count are its own. `update` equals applying each transform to its subset of the updates
 * and putting the results back in place.
 *
 * `observe` reaches every group; `hyperparams` are reported per group as `<label>/<name>` (e.g.
 * `d/lr`, `g/lr`). Labels must be transforms' keys: an unknown label is a `ConfigError` naming
 * the leaf. Given `ctx.group` equal to one of its labels (a module with several losses: each
 * loss's step updates its own group), only that group's transform runs; the other groups' leaves
 * get zero updates and their states stay as they are.
 *
 * @example
 * // the head learns at 1e-3, the backbone at 1e-4, the embedding not at all (no state for it)
 * const optimizer = optim.multiTransform(
 *   { head: optim.adam({ lr: 1e-3 }), backbone: optim.adam({ lr: 1e-4 }), frozen: optim.freeze() },
 *   (path) => (path.startsWith('embed/') ? 'frozen' : path.startsWith('head/') ? 'head' : 'backbone'),
 * )
 */
export const multiTransform = <L extends string>(
  transforms: { readonly [K in L]: GradientTransform },
  labelOf: (path: string, leaf: tf.Tensor) => L,
): GradientTransform<MultiTransformState<L>> => {
  const names = Object.keys(transforms).sort() as L[]
  const known = new Set<string>(names)
  const members = transforms as Readonly<Record<string, GradientTransform>>
  const member = (label: string): GradientTransform => members[label] as GradientTransform
  const statesOf = (state: MultiTransformState<L>): Readonly<Record<string, StateTree>> => {
    if (state === null || typeof state !== 'object' || names.some((n) => !(n in state)))
      throw rxtrainError(
        'StructureError',
        `multiTransform: expected a state with one entry per group (${names.join(', ')})`,
        'pass the state that this same multiTransform built with init (or restored from its checkpoint).',
        { groups: names },
      )
    return state as Readonly<Record<string, StateTree>>
  }
  const observers = names.some((n) => member(n).observe !== undefined)
  const reporters = names.some((n) => member(n).hyperparams !== undefined)
  const composed: GradientTransform<MultiTransformState<L>> = {
    init: (params) => {
      const labels = labelsOf(params, labelOf, known)
      return Object.fromEntries(names.map((n) => [n, member(n).init(groupOf(params, labels, n))])) as MultiTransformState<L>
    },
    update: (updates, state, params, ctx?: UpdateContext) => {
      const states = statesOf(state)
      const labels = labelsOf(params, labelOf, known)
      const flat = flattenParams(updates)
      const out = new Map<string, tf.Tensor>()
      const next: Record<string, StateTree> = {}
      // A step of one loss of several (`ctx.group`, one of ours): that group alone moves.
      const only = ctx?.group !== undefined && known.has(ctx.group) ? ctx.group : undefined
      const memberCtx = only === undefined ? ctx : withoutGroup(ctx)
      for (const n of names) {
        if (only !== undefined && n !== only) {
          flat.forEach((l, i) => {
            if (labels[i] === n) out.set(l.path, tf.zerosLike(l.tensor))
          })
          next[n] = states[n]
          continue
        }
        const [u, s] = member(n).update(groupOf(updates, labels, n), states[n], groupOf(params, labels, n), memberCtx)
        for (const leaf of flattenParams(u)) out.set(leaf.path, leaf.tensor)
        next[n] = s
      }
      return [unflattenParams(updates, flat.map((l) => out.get(l.path) as tf.Tensor)), next as MultiTransformState<L>]
    },
    ...(observers && {
      observe: (state, metrics) => {
        const states = statesOf(state)
        return Object.fromEntries(names.map((n) => [n, member(n).observe?.(states[n], metrics) ?? states[n]])) as MultiTransformState<L>
      },
    }),
    ...(reporters && {
      hyperparams: (state) => {
        const states = statesOf(state)
        const entries = names.flatMap((n) => Object.entries(member(n).hyperparams?.(states[n]) ?? {}).map(([k, v]) => [`${n}/${k}`, v] as const))
        return Object.fromEntries(entries)
      },
    }),
    guardsNonFinite: names.some((n) => member(n).guardsNonFinite === true),
    groups: [...names, ...names.flatMap((n) => member(n).groups ?? [])],
  }
  return composed
}

/**
 * Applies `transform` to the leaves that `mask` chooses and passes the other leaves' updates
 * through unchanged (Optax `masked`). The state is `transform`'s, built on the chosen leaves only.
 * Typical use: weight decay on kernels but not on biases or norms.
 *
 * @example
 * const optimizer = optim.chain(
 *   optim.masked(optim.addDecayedWeights({ weightDecay: 1e-4 }), (path) => path.endsWith('/kernel')),
 *   optim.adam({ lr: 1e-3 }),
 * )
 */
export const masked = <S extends StateTree>(transform: GradientTransform<S>, mask: LeafPredicate): GradientTransform<S> => {
  const split = multiTransform({ on: transform as GradientTransform, off: identity() }, (path, leaf) => (mask(path, leaf) ? 'on' : 'off'))
  const wrap = (state: S): MultiTransformState<'on' | 'off'> => ({ on: state, off: null })
  return {
    init: (params) => split.init(params).on as S,
    update: (updates, state, params, ctx) => {
      const [u, s] = split.update(updates, wrap(state), params, ctx)
      return [u, s.on as S]
    },
    ...(transform.observe !== undefined && { observe: (state: S, metrics: Readonly<Record<string, number>>) => transform.observe?.(state, metrics) ?? state }),
    ...(transform.hyperparams !== undefined && { hyperparams: (state: S) => transform.hyperparams?.(state) ?? {} }),
    ...(transform.guardsNonFinite === true && { guardsNonFinite: true }),
    ...(transform.groups !== undefined && { groups: transform.groups }),
  }
}

/** Zero updates for every leaf, and no state (Optax `set_to_zero`). */
const setToZero = (): GradientTransform<EmptyState> => ({
  init: () => null,
  update: (updates, state) => [subtreeOf(flattenParams(updates).map(({ path, tensor }) => ({ path, tensor: tf.zerosLike(tensor) }))), state],
})

/**
 * Keeps the leaves that `mask` chooses fixed: their updates are zeros (so `applyUpdates` leaves
 * them bitwise unchanged) and no optimizer state is allocated for them. `inner` (the optimizer
 * of the other leaves; `identity()` when omitted) sees only the leaves that are not frozen, so
 * its state (Adam's moments, ...) covers those alone. With no `mask`, every leaf it is given is
 * frozen: the transform for a frozen group of `multiTransform`.
 *
 * Frozen leaves still get gradients computed (the step differentiates the whole tree); to save
 * that work too, differentiate a parameter group only (see the README's several losses section).
 *
 * @example
 * // fine-tune the head only: the backbone keeps its weights and holds no Adam moments
 * const optimizer = optim.freeze((path) => path.startsWith('backbone/'), optim.adam({ lr: 1e-3 }))
 */
export const freeze = <S extends StateTree = EmptyState>(
  mask: LeafPredicate = () => true,
  inner: GradientTransform<S> = identity() as unknown as GradientTransform<S>,
): GradientTransform<S> => {
  const split = multiTransform({ train: inner as GradientTransform, frozen: setToZero() }, (path, leaf) => (mask(path, leaf) ? 'frozen' : 'train'))
  const wrap = (state: S): MultiTransformState<'train' | 'frozen'> => ({ train: state, frozen: null })
  return {
    init: (params) => split.init(params).train as S,
    update: (updates, state, params, ctx) => {
      const [u, s] = split.update(updates, wrap(state), params, ctx)
      return [u, s.train as S]
    },
    ...(inner.observe !== undefined && { observe: (state: S, metrics: Readonly<Record<string, number>>) => inner.observe?.(state, metrics) ?? state }),
    ...(inner.hyperparams !== undefined && { hyperparams: (state: S) => inner.hyperparams?.(state) ?? {} }),
    ...(inner.guardsNonFinite === true && { guardsNonFinite: true }),
    ...(inner.groups !== undefined && { groups: inner.groups }),
  }
}
