import { rxtrainError } from '../errors/rxtrainError.js'

/**
 * How a source cuts examples into batches.
 *
 * @example
 * const batching: data.BatchingOptions = { batchSize: 64, dropLast: true }
 * const columns = { x: { data: images, shape: [784], scale: 1 / 255 }, y: { data: digits, shape: [], dtype: 'int32' as const } }
 * fit(module, { train: fromArrays(columns, { ...batching, shuffle: true }), val: fromArrays(columns, batching) }).subscribe()
 */
export interface BatchingOptions {
  readonly batchSize: number
  /** Reshuffle every pass with the pass's key (training). Default false. */
  readonly shuffle?: boolean
  /** Drop a last, smaller batch. Default false. */
  readonly dropLast?: boolean
  /**
   * Threads that build batches ahead of training (Lightning's `num_workers`): 0 (default) builds
   * each batch on the training thread when it is pulled; 1 starts one worker thread per pass that
   * copies, converts and scales the next few batches' rows on another core while the step runs
   * (the same values). Sources of `fromArrays` only; a data-parallel rank builds its own shard in
   * its own thread, without one.
   */
  readonly workers?: 0 | 1
}

export const validateBatching = (o: BatchingOptions): void => {
  if (o.workers !== undefined && o.workers !== 0 && o.workers !== 1)
    throw rxtrainError('ConfigError', `workers must be 0 or 1, got ${String(o.workers)}`, 'pass { workers: 1 } to build batches in a worker thread, or leave it out.', {
      field: 'workers',
    })
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    throw rxtrainError('ConfigError', `batchSize must be a positive integer, got ${o.batchSize}`, 'pass e.g. { batchSize: 32 }.', {
      field: 'batchSize',
    })
}

/** Batches per pass over `n` examples. */
export const batchCount = (n: number, o: BatchingOptions): number =>
  o.dropLast === true ? Math.floor(n / o.batchSize) : Math.ceil(n / o.batchSize)

/** The example rows `[from, to)` of batch `b` of a pass over `n` examples (before any shuffle's order). */
export const batchRows = (n: number, o: BatchingOptions, b: number): readonly [number, number] => {
  const from = b * o.batchSize
  return [from, Math.min(n, from + o.batchSize)]
}
