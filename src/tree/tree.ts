import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'

/**
 * A model's parameters: an immutable record tree whose leaves are tensors. Paths join the keys
 * with `/`, e.g. `dense0/kernel`.
 */
export type Params = { readonly [name: string]: tf.Tensor | Params }

/**
 * Any state a pure function returns: tensors and plain data, nested in records and arrays.
 * Optimizer states, layer states and train states are `StateTree`s.
 */
export type StateTree =
  | tf.Tensor
  | number
  | boolean
  | string
  | null
  | undefined
  | readonly StateTree[]
  | { readonly [key: string]: StateTree }

/** One parameter leaf with its path. */
export interface ParamLeaf {
  readonly path: string
  readonly tensor: tf.Tensor
}

/** The shape description of a parameter leaf (what a checkpoint or an error message names). */
export interface LeafSpec {
  readonly path: string
  readonly shape: readonly number[]
  readonly dtype: tf.DataType
}

const isTensor = (u: unknown): u is tf.Tensor => u instanceof tf.Tensor

/**
 * The leaves of `params` in a deterministic order (keys sorted), so that flatten/unflatten
 * and checkpoints agree whatever order the record was built in.
 *
 * @example
 * flattenParams({ b: { w: tw }, a: ta }).map((l) => l.path) // ['a', 'b/w']
 */
export const flattenParams = (params: Params, prefix = ''): ParamLeaf[] => {
  if (prefix !== '') return flattenUncached(params, prefix)
  // Trees are immutable, and the loop flattens the same ones several times per step.
  const cached = flattened.get(params)
  if (cached !== undefined) return [...cached]
  const leaves = flattenUncached(params, '')
  flattened.set(params, leaves)
  return [...leaves]
}

const flattened = new WeakMap<Params, readonly ParamLeaf[]>()

const flattenUncached = (params: Params, prefix: string): ParamLeaf[] => {
  const out: ParamLeaf[] = []
  for (const key of Object.keys(params).sort()) {
    const value = params[key]
    const path = prefix === '' ? key : `${prefix}/${key}`
    if (isTensor(value)) out.push({ path, tensor: value })
    else if (value !== undefined) out.push(...flattenUncached(value, path))
  }
  return out
}

/** A tree shaped like `node` holding `leaves` from `at.i` onwards (a function, not a closure: this runs several times per step). */
const buildLike = (node: Params, leaves: readonly tf.Tensor[], at: { i: number }): Params => {
  const out: Record<string, tf.Tensor | Params> = {}
  for (const key of Object.keys(node).sort()) {
    const value = node[key]
    if (isTensor(value)) {
      const leaf = leaves[at.i++]
      if (leaf === undefined) throw new Error('unflattenParams: fewer leaves than the template has')
      out[key] = leaf
    } else if (value !== undefined) out[key] = buildLike(value, leaves, at)
  }
  return out
}

/** Rebuilds a tree shaped like `template` from leaves in `flattenParams` order. */
export const unflattenParams = <P extends Params>(template: P, leaves: readonly tf.Tensor[]): P => {
  const at = { i: 0 }
  const result = buildLike(template, leaves, at)
  if (at.i !== leaves.length) throw new Error(`unflattenParams: ${leaves.length} leaves for a template of ${at.i}`)
  return result as P
}

/** Applies `f` to every leaf; the result has the same structure. */
export const mapParams = <P extends Params>(params: P, f: (t: tf.Tensor, path: string) => tf.Tensor): P =>
  unflattenParams(
    params,
    flattenParams(params).map((l) => f(l.tensor, l.path)),
  )

/**
 * Combines two trees of the same structure leaf by leaf.
 * Throws a `StructureError` naming the differing paths when the structures differ.
 */
export const zipParams = <P extends Params>(
  a: P,
  b: Params,
  f: (x: tf.Tensor, y: tf.Tensor, path: string) => tf.Tensor,
): P => zipParamsMany([a, b], 1, ([x, y], path) => [f(x as tf.Tensor, y as tf.Tensor, path)])[0] as P

/**
 * Combines trees of the same structure leaf by leaf with a function of several leaves that has
 * `outputs` results, into that many trees of the structure (a fused optimizer kernel's moments
 * and update). Throws a `StructureError` naming the differing paths when the structures differ.
 *
 * @example
 * const [sum, diff] = zipParamsMany([a, b], 2, ([x, y]) => [tf.add(x, y), tf.sub(x, y)])
 */
export const zipParamsMany = <P extends Params>(
  trees: readonly [P, ...Params[]],
  outputs: number,
  f: (leaves: readonly tf.Tensor[], path: string) => readonly tf.Tensor[],
): P[] => {
  const [first, ...rest] = trees.map((t) => flattenParams(t)) as [ParamLeaf[], ...ParamLeaf[][]]
  for (const other of rest) assertSameStructure(first, other)
  const results = first.map((l, i) => f([l.tensor, ...rest.map((r) => (r[i] as ParamLeaf).tensor)], l.path))
  return Array.from({ length: outputs }, (_, k) =>
    unflattenParams(
      trees[0],
      results.map((r) => r[k] as tf.Tensor),
    ),
  )
}

/** Number of scalar parameters in the tree. */
export const countParams = (params: Params): number =>
  flattenParams(params).reduce((n, l) => n + l.tensor.size, 0)

/** Path, shape and dtype of every leaf. */
export const specOf = (params: Params): LeafSpec[] =>
  flattenParams(params).map((l) => ({ path: l.path, shape: l.tensor.shape, dtype: l.tensor.dtype }))

/** The differences between two parameter specs, one readable line each. */
export const structureDiff = (
  expected: readonly { readonly path: string; readonly shape: readonly number[]; readonly dtype: string }[],
  actual: readonly { readonly path: string; readonly shape: readonly number[]; readonly dtype: string }[],
): string[] => {
  const byPath = new Map(actual.map((s) => [s.path, s]))
  const lines: string[] = []
  for (const e of expected) {
    const a = byPath.get(e.path)
    if (a === undefined) lines.push(`missing ${e.path} [${e.shape.join(',')}]`)
    else if (a.shape.join(',') !== e.shape.join(',') || a.dtype !== e.dtype)
      lines.push(`${e.path}: expected [${e.shape.join(',')}] ${e.dtype}, got [${a.shape.join(',')}] ${a.dtype}`)
    byPath.delete(e.path)
  }
  for (const a of byPath.values()) lines.push(`unexpected ${a.path} [${a.shape.join(',')}]`)
  return lines
}

const sameLeaves = (a: readonly ParamLeaf[], b: readonly ParamLeaf[]): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const l = a[i] as ParamLeaf
    const m = b[i] as ParamLeaf
    if (l.path !== m.path || l.tensor.dtype !== m.tensor.dtype || !tf.util.arraysEqual(l.tensor.shape, m.tensor.shape)) return false
  }
  return true
}

const assertSameStructure = (a: readonly ParamLeaf[], b: readonly ParamLeaf[]): void => {
  // The common case, checked without building specs (this runs several times per step).
  if (sameLeaves(a, b)) return
  const spec = (ls: readonly ParamLeaf[]): LeafSpec[] =>
    ls.map((l) => ({ path: l.path, shape: l.tensor.shape, dtype: l.tensor.dtype }))
  const diff = structureDiff(spec(a), spec(b))
  if (diff.length > 0)
    throw rxtrainError(
      'StructureError',
      `the two parameter trees differ: ${diff.slice(0, 8).join('; ')}${diff.length > 8 ? ` (+${diff.length - 8} more)` : ''}`,
      'combine only trees built from the same model (e.g. params and their gradients).',
      { diff },
    )
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype

/** Adds the tensors inside `v` not seen yet to `out` (a function, not a closure: this runs several times per step). */
const collectTensors = (v: unknown, seen: Set<number>, out: tf.Tensor[]): void => {
  if (isTensor(v)) {
    if (!seen.has(v.id)) {
      seen.add(v.id)
      out.push(v)
    }
  } else if (Array.isArray(v)) for (const x of v) collectTensors(x, seen, out)
  else if (isRecord(v)) for (const key in v) collectTensors(v[key], seen, out)
}

/** Every tensor inside any nested value (records, arrays, tensors), each once. */
export const tensorsOf = (value: unknown): tf.Tensor[] => {
  const out: tf.Tensor[] = []
  collectTensors(value, new Set<number>(), out)
  return out
}

/** Disposes every tensor inside `value` (safe to call on already-disposed tensors). */
export const disposeTree = (value: unknown): void => {
  for (const t of tensorsOf(value)) if (!t.isDisposed) t.dispose()
}

/**
 * Releases a state generation: disposes every tensor of `previous` that `next` does not hold.
 * Pure transforms may alias (momentum returns its trace as update and state), so identity, not
 * position, decides what survives.
 */
export const releaseGeneration = (previous: unknown, next: unknown): void => {
  const keep = new Set(tensorsOf(next).map((t) => t.id))
  for (const t of tensorsOf(previous)) if (!keep.has(t.id) && !t.isDisposed) t.dispose()
}

/**
 * `value` with every tensor replaced by `f(tensor)`, through records and arrays (other values
 * are kept as they are).
 */
export const mapTensors = <T>(value: T, f: (t: tf.Tensor) => tf.Tensor): T => mapTensorsIn(value, f) as T

const mapTensorsIn = (v: unknown, f: (t: tf.Tensor) => tf.Tensor): unknown => {
  if (isTensor(v)) return f(v)
  if (Array.isArray(v)) return v.map((x) => mapTensorsIn(x, f))
  if (!isRecord(v)) return v
  const out: Record<string, unknown> = {}
  for (const key in v) out[key] = mapTensorsIn(v[key], f)
  return out
}

/**
 * A copy of `value` whose tensors are new handles on the same data (`tf.clone` shares the
 * buffer), so the copy outlives the original's release.
 */
export const cloneTree = <T>(value: T): T => mapTensors(value, (t) => tf.clone(t))
