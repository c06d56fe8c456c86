import * as tf from '@tensorflow/tfjs-core'
import type { Backend } from '../backends/backend.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { tensorsOf } from '../tree/tree.js'
import { type Logs, pendingLogs, type ReadLog, readLog } from './logs.js'

export interface ReadBack {
  /** The values of the `extra` tensors, in order. */
  readonly extra: number[]
  readonly logs: ReadLog[]
}

interface PendingReads {
  /** The tensors to read: the extra ones, then the logged ones. */
  readonly tensors: tf.Tensor[]
  /** Builds the result from the values read, and releases what `keep` does not hold. */
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
    const kept = new Set(tensorsOf(keep).map((t) => t.id))
    for (const t of tensorsOf([extra, logs])) if (!kept.has(t.id) && !t.isDisposed) t.dispose()
  }
  try {
    const pending = pendingLogs(logs, defaults, batchSize)
    const logged: tf.Tensor[] = []
    for (const p of pending)
      if (p.source instanceof tf.Tensor) {
        if (p.source.size !== 1)
          throw rxtrainError(
            'ShapeError',
            `the logged value '${p.name}' has shape [${p.source.shape.join(',')}], not a scalar`,
            'log a scalar (e.g. tf.mean(...)) or a metric stat.',
            { name: p.name },
          )
        logged.push(p.source)
      }
    return {
      tensors: [...extra, ...logged],
      finish: (values) => {
        release()
        if (values === undefined) return { extra: [], logs: [] }
        let i = extra.length
        return {
          extra: values.slice(0, extra.length),
          logs: pending.map((p) => readLog(p, p.source instanceof tf.Tensor ? (values[i++] as number) : p.source)),
        }
      },
    }
  } catch (e) {
    release()
    throw e
  }
}

/**
 * Reads a step's scalars back to the host in one transfer (the loss and every logged tensor),
 * then disposes those tensors unless `keep` holds them. Needs a backend with `hostReads`.
 */
export const readBack = (
  backend: Backend,
  logs: Logs | undefined,
  defaults: { readonly onStep: boolean; readonly onEpoch: boolean },
  batchSize: number,
  extra: readonly tf.Tensor[],
  keep: unknown,
): ReadBack => {
  const reads = collect(logs, defaults, batchSize, extra, keep)
  let values: number[] | undefined
  try {
    values = backend.readScalars(reads.tensors)
  } finally {
    // Releases the tensors whether or not the read succeeded.
    if (values === undefined) reads.finish(undefined)
  }
  return reads.finish(values)
}

/** `readBack` for any backend: the values arrive asynchronously (one transfer). */
export const readBackAsync = async (
  backend: Backend,
  logs: Logs | undefined,
  defaults: { readonly onStep: boolean; readonly onEpoch: boolean },
  batchSize: number,
  extra: readonly tf.Tensor[],
  keep: unknown,
): Promise<ReadBack> => {
  const reads = collect(logs, defaults, batchSize, extra, keep)
  let values: number[] | undefined
  try {
    values = await backend.readScalarsAsync(reads.tensors)
  } finally {
    if (values === undefined) reads.finish(undefined)
  }
  return reads.finish(values)
}
