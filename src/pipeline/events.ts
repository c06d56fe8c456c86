import type { AcceleratorChoice } from '../backends/acceleratorChoice.js'
import type * as tf from '@tensorflow/tfjs-core'
import type { GradientTransform } from '../optim/transform.js'
import type { StateTree } from '../tree/tree.js'
import type { LoopState } from '../core/loopState.js'
import type { ResolvedOptions } from './options.js'
import type { LoopPlan } from './plan.js'

export type { TrainState } from '../core/trainState.js'
import type { TrainState } from '../core/trainState.js'

export type { HookStates } from '../flow/hookEffect.js'
import type { HookStates } from '../flow/hookEffect.js'

/**
 * Logged values by name, read back to the host.
 *
 * @example
 * const scores: Metrics = await lastValueFrom(validate(module, model, { val }).pipe(evalMetrics()))
 * console.log(scores['val/acc'], scores['val/loss']) // 0.9712 0.0931
 */
export type Metrics = Readonly<Record<string, number>>

interface Base {
  /** Wall-clock time of the event (ms since the Unix epoch), from the run's clock. */
  readonly time: number
}

interface Position {
  readonly epoch: number
  /** Optimizer steps taken so far. */
  readonly globalStep: number
}

/** Where a resumed run came from (its hooks' states are restored before `fitStart` reaches them). */
export interface Resumed {
  /** The checkpoint directory. */
  readonly from: string
  readonly loop: LoopState
  readonly hookStates: HookStates
}

/** The first event of `fit`: the plan, the resolved options, the backend chosen, the initial state. */
export interface FitStart extends Base {
  readonly type: 'fitStart'
  readonly plan: LoopPlan
  readonly options: ResolvedOptions
  /** The backend's description, e.g. `wasm (XNNPACK, SIMD, 1 thread, tfjs 4.22.0)`. */
  readonly backend: string
  /** What the accelerator option chose, and why it passed over the backends it tried first. */
  readonly accelerator: AcceleratorChoice
  /** The run's optimizer (e.g. for a learning-rate monitor: `optimizer.hyperparams(optState)`). */
  readonly optimizer: GradientTransform<StateTree>
  readonly state: TrainState
  readonly loop: LoopState
  /** Set when the run resumes from a checkpoint. */
  readonly resumed: Resumed | undefined
  /** The module's declared hyperparameters (`module.hparams`), for checkpoints and loggers. */
  readonly hparams?: Readonly<Record<string, unknown>>
}

/** What a `warning` event is about. */
export type WarningKind = 'emptyTrainSource' | 'emptyValSource'

/**
 * Something the run goes on despite, which its user should know (Lightning's warnings). The run
 * also prints it, as `rxtrain warning: <message>`, on its console's error stream. Today: a training or
 * validation source without batches (Lightning's "Total length of `DataLoader` across ranks is
 * zero"), after which training or validation is skipped.
 */
export interface RunWarning extends Base {
  readonly type: 'warning'
  readonly kind: WarningKind
  /** One line for people, without the `rxtrain warning: ` prefix. */
  readonly message: string
}

/** Before training: the sanity check's validation batches begin (`numSanityValSteps`). */
export interface SanityCheckStart extends Base {
  readonly type: 'sanityCheckStart'
  readonly numBatches: number
}

/** Sanity-check metrics are reported here and never logged (as in Lightning). */
export interface SanityCheckEnd extends Base {
  readonly type: 'sanityCheckEnd'
  readonly metrics: Metrics
}

/** A training epoch begins. */
export interface EpochStart extends Base, Position {
  readonly type: 'epochStart'
  /** Training batches this epoch will run (`Infinity` when unknown). */
  readonly numBatches: number
  /** The first batch this epoch runs: 0, or where a resumed run continues. */
  readonly firstBatch: number
}

/** One training batch done: its loss, logged values and the state after it (borrowed until the next event). */
export interface TrainStep extends Base, Position {
  readonly type: 'trainStep'
  readonly batchIdx: number
  /** Batches trained so far across epochs, this one included. */
  readonly totalBatches: number
  /** Whether this batch ended with an optimizer step (false while accumulating). */
  readonly optimizerStepped: boolean
  /**
   * True when the precision policy skipped this optimizer step because its gradients were not
   * all finite (`'16-mixed'`: the loss scale then backs off; see `loop.lossScale`).
   */
  readonly stepSkipped: boolean
  /** The step's loss (before division by `accumulateGradBatches`); NaN when `valuesRead` is false. */
  readonly loss: number
  /**
   * Whether the step's loss and logged values were read back to the host for this event. Always
   * true on backends with synchronous reads (cpu, wasm, tensorflow). On webgpu, a step that writes
   * no row (`shouldLog` false), logs nothing per epoch, and is followed by another training step
   * (no validation, no end of the epoch or of the run) is not waited for: `loss` is NaN, `metrics`
   * and `progBar` are empty, and `loop.lastStepMetrics` still holds the values read last. Its
   * values are read with the next step that is read (one transfer; a non-finite loss then fails
   * the run, naming this step). Use `logEveryNSteps: 1` to read every optimizer step.
   */
  readonly valuesRead: boolean
  /** Step-level logged values (empty when `valuesRead` is false). */
  readonly metrics: Metrics
  /** Names in `metrics` marked for the progress bar. */
  readonly progBar: readonly string[]
  /** Whether a logger should write this step (Lightning's `log_every_n_steps` rule). */
  readonly shouldLog: boolean
  /** The step number a logger writes this row under (Lightning's: optimizer steps before this one). */
  readonly logStep: number
  readonly batchSize: number
  readonly state: TrainState
  readonly loop: LoopState
}

/** A validation run within `fit` begins. */
export interface ValidationStart extends Base, Position {
  readonly type: 'validationStart'
  readonly numBatches: number
}

/** One validation batch done (also during the sanity check, with `sanity: true`). */
export interface ValidationStep extends Base, Position {
  readonly type: 'validationStep'
  readonly batchIdx: number
  readonly numBatches: number
  readonly sanity: boolean
  /** The batch's values logged with `onStep: true` (Lightning writes them per validation batch; never during the sanity check). */
  readonly metrics: Metrics
  /** The step a logger writes them under: validation batches run so far in this fit (Lightning's per-dataloader count). */
  readonly logStep: number
}

/** A validation run within `fit` done, with its epoch-level values. */
export interface ValidationEnd extends Base, Position {
  readonly type: 'validationEnd'
  /** Epoch-level validation values, e.g. `{ 'val/acc': 0.97 }`. */
  readonly metrics: Metrics
  readonly progBar: readonly string[]
  /** The training batch this validation followed. */
  readonly batchIdx: number
  /** The step number a logger writes this row under (as the training row of that batch). */
  readonly logStep: number
  readonly state: TrainState
  readonly loop: LoopState
}

/** A training epoch done (after its validation, if any), with its epoch-level values. */
export interface EpochEnd extends Base, Position {
  readonly type: 'epochEnd'
  /** Epoch-level training values (what a logger writes for the epoch). */
  readonly metrics: Metrics
  /** The training values and the latest validation values: what monitors read (Lightning's `callback_metrics`). */
  readonly callbackMetrics: Metrics
  readonly progBar: readonly string[]
  /** The step number a logger writes the epoch's row under (optimizer steps so far). */
  readonly logStep: number
  readonly state: TrainState
  readonly loop: LoopState
}

/**
 * Why `fit` ended: a limit reached, a hook's stop request, no training batches, or an interrupt (Ctrl-C).
 *
 * @example
 * const end = await lastValueFrom(fit(module, { train, val }, { maxEpochs: 100 }).pipe(earlyStopping({ monitor: 'val/loss' }), filter((e) => e.type === 'fitEnd')))
 * const reason: FitEndReason = end.reason // 'stopRequested' (end.stopReason says which rule fired), or 'maxEpochs'
 */
export type FitEndReason = 'maxEpochs' | 'maxSteps' | 'stopRequested' | 'noTrainBatches' | 'interrupted'

/** The last event of `fit`: why it ended, and the final state (borrowed: `trainedModel()` keeps a copy). */
export interface FitEnd extends Base, Position {
  readonly type: 'fitEnd'
  readonly reason: FitEndReason
  /** The stop request's reason (`stopRequested`), or the signal (`interrupted`). */
  readonly stopReason: string | undefined
  readonly state: TrainState
  /** Where the loop stands: an interrupted run resumes exactly from here. */
  readonly loop: LoopState
}

/**
 * The events of `fit`, in the order the loop emits them.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 3 }).subscribe((e: FitEvent) => {
 *   if (e.type === 'epochEnd') console.log(e.epoch, e.callbackMetrics) // 0 { 'train/loss': 0.31, 'val/loss': 0.15, ... }
 *   if (e.type === 'fitEnd') console.log(e.reason) // 'maxEpochs'
 * })
 */
export type FitEvent =
  | FitStart
  | RunWarning
  | SanityCheckStart
  | ValidationStep
  | SanityCheckEnd
  | EpochStart
  | TrainStep
  | ValidationStart
  | ValidationEnd
  | EpochEnd
  | FitEnd

/** The first event of `validate` and `test`. */
export interface EvalStart extends Base {
  readonly type: 'evalStart'
  readonly stage: 'val' | 'test'
  readonly numBatches: number
}

/** One validation or test batch done. */
export interface EvalStep extends Base {
  readonly type: 'evalStep'
  readonly stage: 'val' | 'test'
  readonly batchIdx: number
  readonly numBatches: number
}

/** The last event of `validate` and `test`: the epoch-level values. */
export interface EvalEnd extends Base {
  readonly type: 'evalEnd'
  readonly stage: 'val' | 'test'
  readonly metrics: Metrics
}

/**
 * The events of `validate` and `test`, in order: `evalStart`, `evalStep` per batch, `evalEnd`.
 *
 * @example
 * validate(module, model, { val }).subscribe((e: EvalEvent) => {
 *   if (e.type === 'evalStep') console.log(`${e.batchIdx + 1}/${e.numBatches}`)
 *   if (e.type === 'evalEnd') console.log(e.metrics) // { 'val/acc': 0.9712, 'val/loss': 0.0931 }
 * })
 */
export type EvalEvent = EvalStart | EvalStep | EvalEnd

/** One predict batch done, with the module's output. */
export interface PredictStep extends Base {
  readonly type: 'predictStep'
  readonly batchIdx: number
  readonly numBatches: number
  /** Borrowed until the next event: clone it (or use `collectPredictions`) to keep it. */
  readonly output: tf.Tensor
}

/** The last event of `predict`. */
export interface PredictEnd extends Base {
  readonly type: 'predictEnd'
  readonly numBatches: number
}

/**
 * The events of `predict`: a `predictStep` per batch (its output borrowed until the next event), then `predictEnd`.
 *
 * @example
 * predict(module, model, { predict: val }).subscribe((e: PredictEvent) => {
 *   if (e.type === 'predictStep') console.log(e.batchIdx, e.output.shape) // read the output now: it is borrowed
 * })
 */
export type PredictEvent = PredictStep | PredictEnd

/**
 * The event of a type, picked out of an event union: `EventOf<FitEvent, 'trainStep'>`,
 * `EventOf<FitEvent, 'fitEnd'>`, `EventOf<EvalEvent, 'evalEnd'>`. This is how the individual event
 * types are named (the package exports the unions `FitEvent`, `EvalEvent`, `PredictEvent`, not
 * each member); a union of types gives a union of events.
 *
 * @example
 * import { type EventOf, type FitEvent, fit } from 'rxtrain'
 * const isStep = (e: FitEvent): e is EventOf<FitEvent, 'trainStep'> => e.type === 'trainStep'
 * fit(module, { train, val }, { maxEpochs: 1 }).pipe(filter(isStep)).subscribe((e) => console.log(e.globalStep, e.loss))
 */
export type EventOf<E extends { type: string }, T extends E['type']> = Extract<E, { type: T }>
