import * as tf from '@tensorflow/tfjs-core'
import { decodeHalf, encodeHalf, type HalfFormat } from '../backends/halfFloat.js'
import type { StorageDtype } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { Json } from './jsonValues.js'
import { fromJson, toJson } from './jsonValues.js'

/** Where one tensor's bytes lie in a checkpoint's tensor file. */
export interface TensorEntry {
  readonly shape: readonly number[]
  readonly dtype: 'float32' | 'int32' | 'bool'
  /** A float32 tensor stored as 16-bit codes of this format (half the bytes); absent: as `dtype`. */
  readonly storage?: HalfFormat
  readonly offset: number
  readonly byteLength: number
}

const REF = '$tensor'

/** A tree with its tensors replaced by references into a tensor table. */
export interface EncodedTrees {
  readonly trees: Json[]
  readonly entries: TensorEntry[]
  readonly bytes: Uint8Array
}

const align = (n: number): number => Math.ceil(n / 8) * 8

/**
 * Replaces every tensor in `trees` by `{ "$tensor": i }` and lays the tensors' bytes out one
 * after another (8-byte aligned) in one buffer. Tensors shared between trees (aliases) are
 * stored once (as the first tree holding them says). `storage[i]` `'float16'` or `'bfloat16'`
 * stores tree i's float32 tensors rounded to that format, in half the bytes. Reads the values
 * synchronously by default: call it while the tensors are alive.
 */
export const encodeTrees = (
  trees: readonly unknown[],
  storage: readonly StorageDtype[] = [],
  read: (t: tf.Tensor) => tf.TypedArray = (t) => t.dataSync() as tf.TypedArray,
): EncodedTrees => {
  const index = new Map<number, number>()
  const tensors: tf.Tensor[] = []
  const formats: StorageDtype[] = []
  // `format`: how the tree being walked stores its float tensors.
  const walk = (v: unknown, format: StorageDtype): unknown => {
    if (v instanceof tf.Tensor) {
      let i = index.get(v.id)
      if (i === undefined) {
        i = tensors.length
        index.set(v.id, i)
        tensors.push(v)
        formats.push(format)
      }
      return { [REF]: i }
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, format))
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, format)]))
    return v
  }
  const encoded = trees.map((t, i) => toJson(walk(t, storage[i] ?? 'float32')))
  const values = tensors.map((t, i) => {
    const stored = formats[i] as StorageDtype
    if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool')
      throw rxtrainError('CheckpointError', `a ${t.dtype} tensor of shape [${t.shape.join(',')}] cannot be stored`, 'keep string and complex tensors out of model and optimizer state.')
    const data = read(t)
    if (data instanceof Float32Array && stored !== 'float32') return encodeHalf(data, stored)
    return data instanceof Float32Array || data instanceof Int32Array ? data : Uint8Array.from(data as ArrayLike<number>)
  })
  let offset = 0
  const entries: TensorEntry[] = tensors.map((t, i) => {
    const byteLength = (values[i] as ArrayBufferView).byteLength
    const stored = formats[i] as StorageDtype
    const half = t.dtype === 'float32' && stored !== 'float32' ? { storage: stored } : {}
    const entry = { shape: [...t.shape], dtype: t.dtype as TensorEntry['dtype'], ...half, offset, byteLength }
    offset = align(offset + byteLength)
    return entry
  })
  const bytes = new Uint8Array(offset)
  values.forEach((v, i) => bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), (entries[i] as TensorEntry).offset))
  return { trees: encoded, entries, bytes }
}

const elementBytes = { float32: 4, int32: 4, bool: 1 } as const

/**
 * Rebuilds trees from their encoded form and the tensor file's bytes, creating one tensor per
 * table entry (shared by every reference to it). Throws a `CheckpointError` naming `file` when
 * a reference or an entry does not fit the bytes.
 */
export const decodeTrees = (trees: readonly unknown[], entries: readonly TensorEntry[], bytes: Uint8Array, file: string): unknown[] => {
  const bad = (why: string) => rxtrainError('CheckpointError', `${file} is inconsistent with its manifest: ${why}`, 'the checkpoint is damaged; resume from another one.', { file })
  const tensors: tf.Tensor[] = []
  try {
    entries.forEach((e, i) => {
      const count = e.shape.reduce((a, b) => a * b, 1)
      if (e.storage !== undefined && e.dtype !== 'float32') throw bad(`tensor ${i} is ${e.dtype} but stored as ${e.storage}`)
      const width = e.storage === undefined ? elementBytes[e.dtype] : 2
      if (e.byteLength !== count * width || e.offset + e.byteLength > bytes.byteLength) throw bad(`tensor ${i} does not fit`)
      const slice = bytes.slice(e.offset, e.offset + e.byteLength)
      const values =
        e.storage !== undefined
          ? decodeHalf(new Uint16Array(slice.buffer), e.storage)
          : e.dtype === 'float32'
            ? new Float32Array(slice.buffer)
            : e.dtype === 'int32'
              ? new Int32Array(slice.buffer)
              : slice
      tensors.push(tf.tensor(values, [...e.shape], e.dtype))
    })
  } catch (e) {
    tf.dispose(tensors)
    throw e
  }
  const used = new Set<number>()
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v)
      if (keys.length === 1 && keys[0] === REF) {
        const i = (v as Record<string, unknown>)[REF]
        const t = typeof i === 'number' ? tensors[i] : undefined
        if (t === undefined) throw bad(`reference ${String(i)} has no tensor`)
        used.add(i as number)
        return t
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  try {
    const out = trees.map((t) => walk(fromJson(t)))
    tf.dispose(tensors.filter((_, i) => !used.has(i)))
    return out
  } catch (e) {
    tf.dispose(tensors)
    throw e
  }
}
