/**
 * Whether this thread is a data-parallel worker, and what `fit` does when it is called in one.
 *
 * A DDP worker imports the file that defines the module. When that file also calls `fit` at its
 * top level, every worker would start a run of its own, with workers of its own, without end
 * (threads and memory grow until the machine gives out, and SIGTERM waits behind them). So a
 * worker is marked when it starts (its `workerData`, which any copy of rxtrain loaded in that
 * thread sees), and `fit` there fails at once; the failure also goes straight to the main thread,
 * so the run that started the worker fails with it however the file handles the error.
 */
import { threadContext } from '#platform/threadContext.js'
import { isRxtrainError, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { FromWorker } from './protocol.js'

const marker = 'rxtrainDdpRank'

/** The `workerData` of the worker of a rank: the mark `insideDdpWorker` looks for. */
export const ddpWorkerData = (rank: number): Readonly<Record<typeof marker, number>> => ({ [marker]: rank })

/** The rank of this thread when it is a DDP worker, else undefined. */
export const ddpWorkerRank = (): number | undefined => {
  const { isMainThread, workerData } = threadContext
  if (isMainThread || typeof workerData !== 'object' || workerData === null) return undefined
  const rank = (workerData as Record<string, unknown>)[marker]
  return typeof rank === 'number' ? rank : undefined
}

/** A worker's failure as the message the main thread turns back into the same error. */
export const failedMessage = (e: unknown): FromWorker =>
  isRxtrainError(e)
    ? { type: 'failed', message: e.message, tag: e.tag, problem: e.problem, remedy: e.remedy }
    : { type: 'failed', message: e instanceof Error ? e.message : String(e) }

/**
 * The error of `fit` called in a DDP worker (undefined in any other thread), already reported to
 * the main thread.
 */
export const fitInWorker = (): RxtrainError | undefined => {
  const rank = ddpWorkerRank()
  if (rank === undefined) return undefined
  const e = rxtrainError(
    'ConfigError',
    "fit was called while the worker imported the module's file, which starts a run when it is imported: every worker would train again and start workers of its own",
    'move the module (defineModule with its `source`) into a file without side effects, one that does not call fit when it is imported, and call fit from another file (or only when the file runs as the main script in the main thread, as the examples do with `isMainThread`).',
    { field: 'strategy', rank },
  )
  threadContext.postToMain(failedMessage(e))
  return e
}
