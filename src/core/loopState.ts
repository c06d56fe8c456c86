import * as t from 'io-ts'
import type { LossScale } from './lossScale.js'
import type { Accumulated } from './accumulated.js'
import { MetricStatsCodec } from './metricSpec.js'

/**
 * Where a run's loop stands, as plain data: what a checkpoint stores, besides tensors, to resume
 * exactly. Every random key is a function of the seed, the epoch and the batch index, so the
 * position is all the randomness there is to restore.
 *
 * `phase` says what the loop had finished when the state was taken:
 * - `fitStart`: nothing yet;
 * - `epochStarted`: the start of epoch `epoch`; its batches from `batchIdx + 1` on are next;
 * - `afterStep`: the training step of batch `batchIdx` (its validation and stop checks not yet);
 * - `afterValidation`: that batch's validation too;
 * - `windowClosed`: the epoch's batches, and its last accumulation window (only its end is left);
 * - `epochEnd`: the whole of epoch `epoch`.
 *
 * Events carry `fitStart`, `afterStep`, `afterValidation` and `epochEnd` states (what checkpoints
 * store); the other two exist between events. The schedule (`nextAction`) is a function of this
 * state and the plan alone.
 *
 * @example
 * const end = await lastValueFrom(fit(module, { train, val }, { maxEpochs: 3 }).pipe(filter((e) => e.type === 'fitEnd')))
 * const loop: LoopState = end.loop
 * console.log(loop.phase, loop.epochsFinished, loop.globalStep) // 'epochEnd' 3 1407 (469 batches an epoch)
 */
export interface LoopState {
  readonly phase: 'fitStart' | 'epochStarted' | 'afterStep' | 'afterValidation' | 'windowClosed' | 'epochEnd'
  readonly epoch: number
  /** The last training batch of `epoch` that was run (-1 before the first). */
  readonly batchIdx: number
  readonly globalStep: number
  /** Training batches run across epochs. */
  readonly totalBatches: number
  readonly epochsFinished: number
  /** The epoch's logged training values so far, combined. */
  readonly epochLogs: readonly (readonly [string, Accumulated])[]
  readonly epochProgBar: readonly string[]
  /** The latest validation metrics (Lightning's callback metrics keep them across epochs). */
  readonly lastValidation: Readonly<Record<string, number>>
  readonly lossScale: LossScale
  readonly seed: number
  /** The latest value of each value logged per step (part of the monitors' callback metrics). */
  readonly lastStepMetrics: Readonly<Record<string, number>>
  /** A stop that was requested and not yet honoured (it is honoured after resuming too). */
  readonly stopReason: string | null
  /** The epoch's source (of unknown length) has run out: the epoch only has its end left. */
  readonly sourceExhausted: boolean
  /** Validation batches run so far, sanity check aside (the step of their per-batch log rows). Absent in older checkpoints: 0. */
  readonly valBatchesSeen?: number
}

/** The io-ts codec of `LoopState` (files carry non-finite numbers encoded; see checkpoint/jsonValues). */
export const LoopStateCodec = t.intersection([
  t.type({
  phase: t.keyof({ fitStart: null, epochStarted: null, afterStep: null, afterValidation: null, windowClosed: null, epochEnd: null }),
  epoch: t.number,
  batchIdx: t.number,
  globalStep: t.number,
  totalBatches: t.number,
  epochsFinished: t.number,
  epochLogs: t.array(
    t.tuple([
      t.string,
      t.intersection([
        t.type({ reduce: t.keyof({ mean: null, sum: null, min: null, max: null }), value: t.number, weight: t.number }),
        t.partial({ metric: MetricStatsCodec }),
      ]),
    ]),
  ),
  epochProgBar: t.array(t.string),
  lastValidation: t.record(t.string, t.number),
  lossScale: t.type({ scale: t.number, goodSteps: t.number }),
  seed: t.number,
  lastStepMetrics: t.record(t.string, t.number),
  stopReason: t.union([t.string, t.null]),
  sourceExhausted: t.boolean,
  }),
  t.partial({ valBatchesSeen: t.number }),
])

/** The loop state a fresh run starts from. */
export const initialLoopState = (seed: number, lossScale: LossScale): LoopState => ({
  phase: 'fitStart',
  epoch: 0,
  batchIdx: -1,
  globalStep: 0,
  totalBatches: 0,
  epochsFinished: 0,
  epochLogs: [],
  epochProgBar: [],
  lastValidation: {},
  lossScale,
  seed,
  lastStepMetrics: {},
  stopReason: null,
  sourceExhausted: false,
})

// The codec decodes to exactly the documented interface.
const decodesToLoopState = (s: t.TypeOf<typeof LoopStateCodec>): LoopState => s
void decodesToLoopState
