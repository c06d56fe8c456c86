import * as tf from '@tensorflow/tfjs-core'
import type { Params } from './params.js'

export const isTensor = (u: unknown): u is tf.Tensor => u instanceof tf.Tensor

/** A tree's record structure: its keys in sorted order, each a leaf (null) or a subtree. */
export interface Node {
  readonly keys: readonly string[]
  readonly children: readonly (Node | null)[]
}

/** A tree's structure and its leaves' paths, in `flattenParams` order. */
export interface Layout {
  readonly root: Node
  readonly paths: readonly string[]
}

/** A tree taken apart once: its layout and its leaves in layout order. */
export interface Indexed {
  readonly layout: Layout
  readonly tensors: readonly tf.Tensor[]
}

/**
 * Trees are immutable, and the loop takes the same ones apart several times per step: each tree
 * object is indexed once. A tree built by `unflattenParams` is indexed as it is built, and shares
 * its template's layout, so the trees of one model (parameters, gradients, moments, updates) all
 * share one layout, and comparing their structures is one identity check.
 *
 * The index is a non-enumerable symbol property of the tree (invisible to `Object.keys`, spreads,
 * JSON and deep equality): a WeakMap entry costs ~10x more to add, and the loop builds about six
 * trees per step. `owner` guards against a copy that carried it over (`Object.defineProperties`).
 */
const INDEX: unique symbol = Symbol('rxtrain.treeIndex')

interface IndexSlot extends Indexed {
  readonly owner: Params
}

export const cachedIndex = (params: Params): Indexed | undefined => {
  const slot = (params as { readonly [INDEX]?: IndexSlot })[INDEX]
  return slot !== undefined && slot.owner === params ? slot : undefined
}

const remember = (params: Params, made: Indexed): void => {
  // A frozen record cannot take the index: it is walked again next time.
  if (Object.isExtensible(params)) Object.defineProperty(params, INDEX, { value: { owner: params, layout: made.layout, tensors: made.tensors }, configurable: true })
}

const nodeOf = (params: Params, prefix: string, paths: string[], tensors: tf.Tensor[]): Node => {
  const keys: string[] = []
  const children: (Node | null)[] = []
  for (const key of Object.keys(params).sort()) {
    const value = params[key]
    if (value === undefined) continue
    const path = prefix === '' ? key : `${prefix}/${key}`
    keys.push(key)
    if (isTensor(value)) {
      children.push(null)
      paths.push(path)
      tensors.push(value)
    } else children.push(nodeOf(value, path, paths, tensors))
  }
  return { keys, children }
}

export const indexOf = (params: Params): Indexed => {
  const cached = cachedIndex(params)
  if (cached !== undefined) return cached
  const paths: string[] = []
  const tensors: tf.Tensor[] = []
  const root = nodeOf(params, '', paths, tensors)
  const made = { layout: { root, paths }, tensors }
  remember(params, made)
  return made
}

/** A tree with `node`'s structure holding `leaves` from `at.i` onwards (a function, not a closure: this runs several times per step). */
const buildLike = (node: Node, leaves: readonly tf.Tensor[], at: { i: number }): Params => {
  const out: Record<string, tf.Tensor | Params> = {}
  const { keys, children } = node
  for (let k = 0; k < keys.length; k++) {
    const child = children[k] as Node | null
    out[keys[k] as string] = child === null ? (leaves[at.i++] as tf.Tensor) : buildLike(child, leaves, at)
  }
  return out
}

/** A tree of `layout` holding `leaves` (`owned`: the array is the caller's to give away, not to copy). */
export const buildIndexed = <P extends Params>(layout: Layout, leaves: readonly tf.Tensor[], owned = false): P => {
  const wanted = layout.paths.length
  if (leaves.length < wanted) throw new Error(`unflattenParams: fewer leaves than the template has (${leaves.length} of ${wanted})`)
  if (leaves.length > wanted) throw new Error(`unflattenParams: ${leaves.length} leaves for a template of ${wanted}`)
  const tensors = owned ? leaves : leaves.slice()
  const tree = buildLike(layout.root, tensors, { i: 0 })
  remember(tree, { layout, tensors })
  return tree as P
}
