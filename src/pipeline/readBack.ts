import * as tf from '@tensorflow/tfjs-core'
import type { Backend } from '../backends/backend.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { tensorIdsOf, tensorsOf } from '../tree/tree.js'
import { type Logs, pendingLogs, type ReadLog, readLog } from './logs.js'

export interface ReadBack {
  /** The values of the `extra` tensors, in order (a tensor of several values gives all of them, flattened). */
  readonly extra: number[]
  readonly logs: ReadLog[]
}

/** Tensors to read back in one transfer, and what to make of their values. */
export interface PendingReads {
  /** The tensors to read: the extra ones, then the logged ones, each once. */
  readonly tensors: tf.Tensor[]
  /** Builds the result from the values read (those of `tensors`), and releases what `keep` does not hold. */
  readonly finish: (values: readonly number[] | undefined) => ReadBack
}

const collect = (
  logs: Logs | undefined,
  defaults: { readonly onStep: boolean; readonly onEpoch: boolean },
  batchSize: number,
  extra: readonly tf.Tensor[],
  keep: unknown,
): PendingReads => {
  const release = () => {
    const kept = tensorIdsOf(keep)
    for (const t of tensorsOf([extra, logs])) if (!kept.has(t.id) && !t.isDisposed) t.dispose()
  }
  try {
    const pending = pendingLogs(logs, defaults, batchSize)
    const logged: tf.Tensor[] = []
    for (const p of pending)
      if (p.source instanceof tf.Tensor) {
        if (p.source.size !== 1 && p.metric === undefined)
          throw rxtrainError(
            'ShapeError',
            `the logged value '${p.name}' has shape [${p.source.shape.join(',')}], not a scalar`,
            'log a scalar (e.g. tf.mean(...)) or a metric stat.',
            { name: p.name },
          )
        logged.push(p.source)
      }
    const all = [...extra, ...logged]
    // A tensor asked for twice (the loss, also logged under its name) is read once.
    const tensors = all.length < 2 ? all : [...new Set(all)]
    return {
      tensors,
      finish: (read) => {
        release()
        if (read === undefined) return { extra: [], logs: [] }
        const values = tensors.length === all.length ? read : spread(read, tensors, all)
        const extraSize = extra.reduce((n, t) => n + t.size, 0)
        let i = extraSize
        // A metric state's statistics arrive as `size` consecutive values; a scalar as one.
        const next = (t: tf.Tensor): number | number[] => {
          const size = t.size
          i += size
          return size === 1 ? (values[i - 1] as number) : values.slice(i - size, i)
        }
        return {
          extra: values.slice(0, extraSize),
          logs: pending.map((p) => readLog(p, p.source instanceof tf.Tensor ? next(p.source) : p.source)),
        }
      },
    }
  } catch (e) {
    release()
    throw e
  }
}

/** The values of `all` (tensors some of which repeat), from those of `tensors` (each of them once, in order). */
const spread = (values: readonly number[], tensors: readonly tf.Tensor[], all: readonly tf.Tensor[]): number[] => {
  const at = new Map<tf.Tensor, number>()
  let offset = 0
  for (const t of tensors) {
    at.set(t, offset)
    offset += t.size
  }
  const out: number[] = []
  for (const t of all) {
    const from = at.get(t) as number
    for (let k = 0; k < t.size; k++) out.push(values[from + k] as number)
  }
  return out
}

/** What to read back: the step's logs (with their defaults and batch size) and extra scalars. */
export interface ReadRequest {
  readonly logs: Logs | undefined
  readonly defaults: { readonly onStep: boolean; readonly onEpoch: boolean }
  readonly batchSize: number
  readonly extra: readonly tf.Tensor[]
  /** Tensors that must survive the read (the state); every other read tensor is disposed. */
  readonly keep: unknown
}

/** Reads through `read` and releases the read tensors whether or not it succeeds. */
const readWith = <R extends number[] | Promise<number[]>>(
  r: ReadRequest,
  read: (tensors: readonly tf.Tensor[]) => R,
): R extends Promise<number[]> ? Promise<ReadBack> : ReadBack => {
  const reads = collect(r.logs, r.defaults, r.batchSize, r.extra, r.keep)
  let values: number[] | Promise<number[]>
  try {
    values = read(reads.tensors)
  } catch (e) {
    reads.finish(undefined)
    throw e
  }
  const result =
    values instanceof Promise
      ? values.then(reads.finish, (e: unknown) => {
          reads.finish(undefined)
          throw e
        })
      : reads.finish(values)
  return result as R extends Promise<number[]> ? Promise<ReadBack> : ReadBack
}

/**
 * Reads a step's scalars back to the host in one transfer (the loss and every logged tensor),
 * then disposes those tensors unless `keep` holds them. Needs a backend with `hostReads`.
 */
export const readBack = (backend: Backend, r: ReadRequest): ReadBack => readWith(r, (t) => backend.readScalars(t))

/** `readBack` for any backend: the values arrive asynchronously (one transfer). */
export const readBackAsync = (backend: Backend, r: ReadRequest): Promise<ReadBack> => readWith(r, (t) => backend.readScalarsAsync(t))

/** What `r` reads, not read yet: its tensors are released by `finish` (with or without values). */
export const collectReads = (r: ReadRequest): PendingReads => collect(r.logs, r.defaults, r.batchSize, r.extra, r.keep)

/**
 * `collectReads` for a read that comes later, after `keep` (the state) may have been released: a
 * read tensor that `keep` holds is cloned (tfjs shares the data: no copy, no kernel on the
 * device), and `finish` releases the clone.
 */
export const deferReads = (r: ReadRequest): PendingReads => {
  const reads = collectReads(r)
  const kept = tensorIdsOf(r.keep)
  const clones: tf.Tensor[] = []
  const tensors = reads.tensors.map((t) => {
    if (!kept.has(t.id)) return t
    const copy = tf.clone(t)
    clones.push(copy)
    return copy
  })
  return {
    tensors,
    finish: (values) => {
      try {
        return reads.finish(values)
      } finally {
        for (const c of clones) c.dispose()
      }
    },
  }
}

/**
 * Several reads in one transfer (the steps whose values waited, and the one that needs them now),
 * answered in order; every read's tensors are released whether or not it succeeds.
 */
export const readAllAsync = (backend: Backend, reads: readonly PendingReads[]): Promise<ReadBack[]> => {
  const release = () => {
    for (const r of reads) r.finish(undefined)
  }
  let values: Promise<number[]>
  try {
    values = backend.readScalarsAsync(reads.flatMap((r) => r.tensors))
  } catch (e) {
    release()
    return Promise.reject(e)
  }
  return values.then(
    (all) => {
      let at = 0
      return reads.map((r) => {
        const n = r.tensors.reduce((k, t) => k + t.size, 0)
        at += n
        return r.finish(all.slice(at - n, at))
      })
    },
    (e: unknown) => {
      release()
      throw e
    },
  )
}
