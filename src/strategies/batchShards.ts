import * as tf from '@tensorflow/tfjs-core'
import type { BackendName } from '../backends/backend.js'
import { shardSizes } from '../data/shardRows.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { disposeTree } from '../tree/tree.js'
import { hostValues, tensorFromView } from './sharedTensor.js'

type ShardDtype = 'float32' | 'int32' | 'bool'

/** Where one tensor of a shard lies in its shared buffer. */
export interface SharedTensorSpec {
  readonly shape: readonly number[]
  readonly dtype: ShardDtype
  readonly byteOffset: number
}

/**
 * A shard of a batch in shared memory: the batch's structure with `{ $tensor: i }` in place of
 * tensors, and where each tensor's rows lie in `buffer`.
 */
export interface BatchData {
  readonly template: unknown
  readonly buffer: SharedArrayBuffer
  readonly tensors: readonly SharedTensorSpec[]
}

const REF = '$tensor'

/** A global batch cut for `n` ranks: this rank's shard as tensors, the others' in shared memory. */
export interface Shards {
  /** Rank 0's shard: the batch's structure with sliced tensors (owned by the caller). */
  readonly local: unknown
  /** Ranks 1..n-1, each in its own shared buffer. */
  readonly remote: readonly BatchData[]
  /** Examples per rank (0 for ranks the batch is too small to feed). */
  readonly sizes: readonly number[]
}

/** Shared buffers for the other ranks' shards, one per rank, that grow as batches need. */
export interface ShardSlots {
  buffer(rank: number, bytes: number): SharedArrayBuffer
}

/** A set of slots; a slot is replaced (never resized) when a larger shard comes. */
export const shardSlots = (): ShardSlots => {
  const buffers: SharedArrayBuffer[] = []
  return {
    buffer: (rank, bytes) => {
      const old = buffers[rank]
      if (old !== undefined && old.byteLength >= bytes) return old
      // Some headroom, so that a slightly larger batch does not reallocate.
      const made = new SharedArrayBuffer(Math.ceil(bytes * 1.25) + 64)
      buffers[rank] = made
      return made
    },
  }
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4
const viewOf = (dtype: ShardDtype, buffer: ArrayBufferLike, byteOffset: number, length: number) =>
  dtype === 'float32' ? new Float32Array(buffer, byteOffset, length) : dtype === 'int32' ? new Int32Array(buffer, byteOffset, length) : new Uint8Array(buffer, byteOffset, length)

/**
 * Cuts a batch (a tensor, or records and arrays of tensors, batch dimension first) into `n` shards
 * of nearly equal size along the batch dimension, as `shardSizes` splits rows (a batch smaller
 * than `n` leaves the last shards empty). Rank 0's rows stay on the backend;
 * the other ranks' rows are copied into their slots (on wasm straight from its heap), which must
 * not be in use by a worker meanwhile. The batch stays the caller's.
 */
export const shardBatch = (batch: unknown, n: number, slots: ShardSlots, backend: BackendName): Shards => {
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
  const sizes = shardSizes(total, n)
  const local = rebuild(
    template,
    tensors.map((t) => (sizes[0] === total ? tf.clone(t) : tf.slice(t, 0, sizes[0]))),
  )
  const rowOf = (t: tf.Tensor): number => (total === 0 ? 0 : t.size / total)
  try {
    // Each tensor's values, read once for all the other ranks (a view of the heap on wasm).
    const values = sizes[0] === total ? [] : tensors.map((t) => hostValues(backend, t))
    let from = sizes[0] ?? 0
    const remote = sizes.slice(1).map((size, i) => {
      const specs: SharedTensorSpec[] = []
      let bytes = 0
      for (const t of tensors) {
        specs.push({ shape: [size, ...t.shape.slice(1)], dtype: t.dtype as ShardDtype, byteOffset: bytes })
        bytes = align4(bytes + rowOf(t) * size * tf.util.bytesPerElement(t.dtype))
      }
      const buffer = slots.buffer(i + 1, bytes)
      // A rank the batch is too small to feed gets an empty shard (and no step).
      if (size > 0)
        tensors.forEach((t, k) => {
          const row = rowOf(t)
          const spec = specs[k] as SharedTensorSpec
          viewOf(spec.dtype, buffer, spec.byteOffset, row * size).set((values[k] as Float32Array).subarray(from * row, (from + size) * row))
        })
      from += size
      return { template, buffer, tensors: specs }
    })
    return { local, remote, sizes }
  } catch (e) {
    disposeTree(local)
    throw e
  }
}

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

/**
 * Rebuilds a shard from shared memory (new tensors, owned by the caller). The wasm backend copies
 * the values into its heap; other backends get a copy, since the slot is reused for later shards.
 */
export const batchFromData = (data: BatchData, backend: BackendName): unknown =>
  rebuild(
    data.template,
    data.tensors.map((t) => tensorFromView(backend, viewOf(t.dtype, data.buffer, t.byteOffset, t.shape.reduce((a, b) => a * b, 1)), t.shape, t.dtype)),
  )
