import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { isTensor } from '../tree/treeIndex.js'

/**
 * Non-finite decisions taken on the device, for backends that cannot read a flag synchronously
 * (webgpu in Node). The tensors of a state are selected with `tf.where` on the flag, so they are
 * right either way; the host values (Adam's `count`, a schedule's count, `applyIfFinite`'s
 * counters) cannot be, so a decision also says what they are when the flag reads false. The loop
 * reads the flag with the step's loss and settles the state before the next step (see
 * `StepResult.settle`). Selections copy bits, so the result is bitwise the host decision's.
 */

/** A decision left in a state tree by `applyIfFinite` for the step around it to take. */
export interface PendingDecision {
  /** True (a bool scalar) when the guarded values were all finite. */
  readonly flag: tf.Tensor
  /** The node's host values when the flag reads false (its tensors are ignored). */
  readonly hostIfNotFinite: unknown
}

/** A path into a state tree: record keys and array indices. */
export type TreePath = readonly (string | number)[]

// Keyed by the state node a decision belongs to, taken (and forgotten) once by the step.
const pending = new WeakMap<object, PendingDecision>()

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype

/** Marks `node` (a state returned by an optimizer) as holding a decision still to be read. */
export const markPending = <T extends object>(node: T, decision: PendingDecision): T => {
  pending.set(node, decision)
  return node
}

/** The decisions marked inside `tree`, outermost first, with their paths; each is taken once. */
export const takePending = (tree: unknown): { readonly path: TreePath; readonly decision: PendingDecision }[] => {
  const found: { path: TreePath; decision: PendingDecision }[] = []
  const walk = (v: unknown, path: TreePath): void => {
    if (v === null || typeof v !== 'object' || isTensor(v)) return
    const d = pending.get(v)
    if (d !== undefined) {
      pending.delete(v)
      found.push({ path, decision: d })
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]))
    else if (isRecord(v)) for (const k in v) walk(v[k], [...path, k])
  }
  walk(tree, [])
  return found
}

const mismatch = (what: string) =>
  rxtrainError(
    'ConfigError',
    `a non-finite decision taken on the device needs the state to keep its shape across an update, but ${what}`,
    'train this optimizer on a backend with host reads (cpu, wasm), or report it: its state changes shape between updates.',
  )

/**
 * `a` where `flag` is true, else `b`, leaf by leaf: tensors by `tf.where` (one shared by both is
 * kept as it is), other values from `a` (the host values are settled later).
 */
export const selectTree = <T>(flag: tf.Tensor, a: T, b: unknown): T => zipTrees(a, b, (x, y) => (x === y ? x : tf.where(flag, x, y)), (x) => x)

/** `node`'s tensors with `host`'s other values (a tree of the same shape). */
export const withHostValues = <T>(node: T, host: unknown): T => zipTrees(node, host, (x) => x, (_, y) => y)

const zipTrees = <T>(a: T, b: unknown, tensors: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, others: (x: unknown, y: unknown) => unknown): T => {
  const go = (x: unknown, y: unknown): unknown => {
    if (isTensor(x)) {
      if (!isTensor(y) || x.dtype !== y.dtype || x.shape.join(',') !== y.shape.join(',')) throw mismatch('a tensor became another value')
      return tensors(x, y)
    }
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || y.length !== x.length) throw mismatch('an array changed length')
      return x.map((v, i) => go(v, y[i]))
    }
    if (isRecord(x)) {
      if (!isRecord(y)) throw mismatch('a record became another value')
      const out: Record<string, unknown> = {}
      for (const k in x) out[k] = go(x[k], y[k])
      return out
    }
    if (isTensor(y)) throw mismatch('a value became a tensor')
    return others(x, y)
  }
  return go(a, b) as T
}

/** `tree` with the node at `path` replaced by `f(node)`. */
export const updateAt = <T>(tree: T, path: TreePath, f: (node: unknown) => unknown): T => {
  if (path.length === 0) return f(tree) as T
  const [head, ...rest] = path
  if (Array.isArray(tree)) return tree.map((v, i) => (i === head ? updateAt(v, rest, f) : v)) as T
  const record = tree as Record<string, unknown>
  return { ...record, [head as string]: updateAt(record[head as string], rest, f) } as T
}
