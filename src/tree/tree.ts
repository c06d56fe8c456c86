import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { buildIndexed, cachedIndex, type Indexed, indexOf, isTensor } from './treeIndex.js'

export type { Params, StateTree } from './params.js'
import type { Params } from './params.js'

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

/**
 * The leaves of `params` in a deterministic order (keys sorted), so that flatten/unflatten
 * and checkpoints agree whatever order the record was built in.
 *
 * @example
 * flattenParams({ b: { w: tf.ones([2]) }, a: tf.zeros([3]) }).map((l) => l.path)   // ['a', 'b/w']
 */
export const flattenParams = (params: Params, prefix = ''): ParamLeaf[] => {
  const { layout, tensors } = indexOf(params)
  const at = prefix === '' ? '' : `${prefix}/`
  return tensors.map((tensor, i) => ({ path: `${at}${layout.paths[i] as string}`, tensor }))
}

/** The leaf tensors of `params` in `flattenParams` order (read only: the array is shared). */
export const leafTensors = (params: Params): readonly tf.Tensor[] => indexOf(params).tensors

/** Rebuilds a tree shaped like `template` from leaves in `flattenParams` order. */
export const unflattenParams = <P extends Params>(template: P, leaves: readonly tf.Tensor[]): P => buildIndexed(indexOf(template).layout, leaves)

/**
 * Applies `f` to every leaf; the result has the same structure.
 *
 * @example
 * const halved = mapParams(params, (t) => tf.mul(t, 0.5))
 * // freeze the embedding: zero its gradients
 * const masked = mapParams(grads, (g, path) => (path.startsWith('embed/') ? tf.zerosLike(g) : g))
 */
export const mapParams = <P extends Params>(params: P, f: (t: tf.Tensor, path: string) => tf.Tensor): P => {
  const { layout, tensors } = indexOf(params)
  return buildIndexed(
    layout,
    tensors.map((t, i) => f(t, layout.paths[i] as string)),
    true,
  )
}

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
  const [first, ...rest] = trees.map(indexOf) as [Indexed, ...Indexed[]]
  for (const other of rest) assertSameStructure(first, other)
  const { paths } = first.layout
  const n = first.tensors.length
  // Plain loops: this runs several times per step.
  const columns: tf.Tensor[][] = []
  for (let k = 0; k < outputs; k++) columns.push(new Array<tf.Tensor>(n))
  for (let i = 0; i < n; i++) {
    const leaves = [first.tensors[i] as tf.Tensor]
    for (const r of rest) leaves.push(r.tensors[i] as tf.Tensor)
    const results = f(leaves, paths[i] as string)
    for (let k = 0; k < outputs; k++) (columns[k] as tf.Tensor[])[i] = results[k] as tf.Tensor
  }
  return columns.map((column) => buildIndexed<P>(first.layout, column, true))
}

/**
 * Number of scalar parameters in the tree.
 *
 * @example
 * countParams({ dense0: { kernel: tf.zeros([784, 128]), bias: tf.zeros([128]) } })   // 100480
 * console.log(`${countParams(model.params)} parameters`)
 */
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

const sameLeaves = (a: Indexed, b: Indexed): boolean => {
  if (a.layout !== b.layout && a.layout.paths.join('\n') !== b.layout.paths.join('\n')) return false
  for (let i = 0; i < a.tensors.length; i++) {
    const l = a.tensors[i] as tf.Tensor
    const m = b.tensors[i] as tf.Tensor
    if (l.dtype !== m.dtype || !tf.util.arraysEqual(l.shape, m.shape)) return false
  }
  return true
}

const assertSameStructure = (a: Indexed, b: Indexed): void => {
  // The common case, checked without building specs (this runs several times per step).
  if (sameLeaves(a, b)) return
  const spec = ({ layout, tensors }: Indexed): LeafSpec[] =>
    tensors.map((t, i) => ({ path: layout.paths[i] as string, shape: t.shape, dtype: t.dtype }))
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

/**
 * Every tensor inside any nested value (records, arrays, tensors), each once, in the order a walk meets them.
 *
 * @example
 * tensorsOf([state, batch]).every((t) => !t.isDisposed)   // a step disposed nothing it was given
 * tensorsOf({ w: x, again: [x], n: 3 }).length            // 1
 */
export const tensorsOf = (value: unknown): tf.Tensor[] => {
  const out: tf.Tensor[] = []
  collectTensors(value, new Set<number>(), out)
  return out
}

/**
 * Calls `f` on every tensor inside `value`, in no promised order, a tensor held twice twice. A
 * parameter tree already taken apart gives its leaves without a walk (the loop's per-step
 * bookkeeping: which tensors a generation holds).
 */
const visitTensors = (v: unknown, f: (t: tf.Tensor) => void): void => {
  if (isTensor(v)) f(v)
  else if (Array.isArray(v)) for (const x of v) visitTensors(x, f)
  else if (isRecord(v)) {
    const known = cachedIndex(v as Params)
    if (known === undefined) for (const key in v) visitTensors(v[key], f)
    else for (const t of known.tensors) f(t)
  }
}

/** The ids of the tensors inside `value` (what `tensorsOf` finds, as a set). */
export const tensorIdsOf = (value: unknown): Set<number> => {
  const ids = new Set<number>()
  visitTensors(value, (t) => ids.add(t.id))
  return ids
}

/**
 * Disposes every tensor inside `value` (safe to call on already-disposed tensors).
 *
 * @example
 * const trained = await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }).pipe(trainedModel()))
 * console.log(countParams(trained.params))
 * disposeTree(trained)   // every tensor of the copy you were given
 */
export const disposeTree = (value: unknown): void => {
  for (const t of tensorsOf(value)) if (!t.isDisposed) t.dispose()
}

/**
 * Releases a state generation: disposes every tensor of `previous` that `next` does not hold.
 * Pure transforms may alias (momentum returns its trace as update and state), so identity, not
 * position, decides what survives.
 */
export const releaseGeneration = (previous: unknown, next: unknown): void => {
  const keep = tensorIdsOf(next)
  visitTensors(previous, (t) => {
    if (!keep.has(t.id) && !t.isDisposed) t.dispose()
  })
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
 *
 * @example
 * const snapshots: Params[] = []
 * fit(module, { train, val }).pipe(
 *   tap((e) => { if (e.type === 'epochEnd') snapshots.push(cloneTree(e.state.params)) }),   // the event's state is borrowed
 * ).subscribe()
 */
export const cloneTree = <T>(value: T): T => mapTensors(value, (t) => tf.clone(t))
