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

/**
 * Reads a step's scalars back to the host in one transfer (the loss and every logged tensor),
 * then disposes those tensors unless `keep` holds them.
 */
export const readBack = (
  backend: Backend,
  logs: Logs | undefined,
  defaults: { readonly onStep: boolean; readonly onEpoch: boolean },
  batchSize: number,
  extra: readonly tf.Tensor[],
  keep: unknown,
): ReadBack => {
  const pending = pendingLogs(logs, defaults, batchSize)
  try {
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
    const values = backend.readScalars([...extra, ...logged])
    let i = extra.length
    return {
      extra: values.slice(0, extra.length),
      logs: pending.map((p) => readLog(p, p.source instanceof tf.Tensor ? (values[i++] as number) : p.source)),
    }
  } finally {
    const kept = new Set(tensorsOf(keep).map((t) => t.id))
    for (const t of tensorsOf([extra, logs])) if (!kept.has(t.id) && !t.isDisposed) t.dispose()
  }
}
