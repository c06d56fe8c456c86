import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'

/** A tensor's values as plain data, to cross to a worker thread. */
export interface TensorData {
  readonly shape: readonly number[]
  readonly dtype: 'float32' | 'int32' | 'bool'
  readonly values: Float32Array | Int32Array | Uint8Array
}

/** A batch as plain data: its structure with `{ $tensor: i }` in place of tensors, and the tensors. */
export interface BatchData {
  readonly template: unknown
  readonly tensors: readonly TensorData[]
}

const REF = '$tensor'

/** A global batch cut for `n` ranks: this rank's shard as tensors, the others' as plain data. */
export interface Shards {
  /** Rank 0's shard: the batch's structure with sliced tensors (owned by the caller). */
  readonly local: unknown
  /** Ranks 1..n-1: plain data whose buffers can be transferred to the workers. */
  readonly remote: readonly BatchData[]
  /** Examples per rank (0 for ranks the batch is too small to feed). */
  readonly sizes: readonly number[]
}

/**
 * Cuts a batch (a tensor, or records and arrays of tensors, batch dimension first) into `n` shards
 * of nearly equal size along the batch dimension. Shard sizes differ by at most one example; a
 * batch smaller than `n` leaves the last shards empty (size 0). Only the other ranks' rows are read
 * back from the backend; rank 0's stay there.
 */
export const shardBatch = (batch: unknown, n: number): Shards => {
  const tensors: tf.Tensor[] = []
  const walk = (v: unknown): unknown => {
    if (v instanceof tf.Tensor) return { [REF]: tensors.push(v) - 1 }
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    return v
  }
  const template = walk(batch)
  const total = tensors[0]?.shape[0]
  if (total === undefined)
    throw rxtrainError('DataError', 'a batch for data-parallel training must hold tensors with a batch dimension', 'give batches as tensors, or records of tensors, batch dimension first.')
  for (const t of tensors) {
    if (t.shape[0] !== total)
      throw rxtrainError('DataError', `the batch's tensors disagree on the batch size (${total} and ${t.shape[0]})`, 'give every tensor of a batch the same first dimension.')
    if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool')
      throw rxtrainError('DataError', `a ${t.dtype} tensor cannot be sent to a worker`, 'use float32, int32 or bool tensors in batches.')
  }
  const sizes = Array.from({ length: n }, (_, r) => Math.floor(total / n) + (r < total % n ? 1 : 0))
  const rows = (t: tf.Tensor, from: number, size: number): tf.Tensor => (from === 0 && size === total ? tf.clone(t) : tf.slice(t, from, size))
  const local = rebuild(
    template,
    tensors.map((t) => rows(t, 0, sizes[0] ?? 0)),
  )
  // The other ranks' rows, read back in one piece per tensor and cut without copying again.
  const others = total - (sizes[0] ?? 0)
  const values = tensors.map((t) => {
    if (others === 0) return undefined
    const tail = rows(t, sizes[0] ?? 0, others)
    const v = tail.dataSync() as Float32Array | Int32Array | Uint8Array
    tail.dispose()
    return v
  })
  let start = 0
  const remote = sizes.slice(1).map((size) => {
    const from = start
    start += size
    return {
      template,
      tensors: tensors.map((t, i) => {
        const row = t.size / total
        const data = values[i] as Float32Array | Int32Array | Uint8Array
        // One other rank takes the whole read-back buffer; several take copies of their parts.
        const part = size === others ? data : data.slice(from * row, (from + size) * row)
        return { shape: [size, ...t.shape.slice(1)], dtype: t.dtype as TensorData['dtype'], values: part }
      }),
    }
  })
  return { local, remote, sizes }
}

/** The buffers of a shard, to transfer (not copy) to a worker. */
export const buffersOf = (data: BatchData): ArrayBuffer[] => data.tensors.map((t) => t.values.buffer as ArrayBuffer)

/** The structure `template` with its tensor references replaced by `tensors`. */
const rebuild = (template: unknown, tensors: readonly tf.Tensor[]): unknown => {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v)
      if (keys.length === 1 && keys[0] === REF) return tensors[(v as Record<string, number>)[REF] as number]
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  return walk(template)
}

/** Rebuilds a batch from plain data (new tensors, owned by the caller). */
export const batchFromData = (data: BatchData): unknown =>
  rebuild(
    data.template,
    data.tensors.map((t) => tf.tensor(t.values, [...t.shape], t.dtype)),
  )
