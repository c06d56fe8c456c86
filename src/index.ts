// tfjs-core's declarations use the global `Long` type of @types/long (one of its dependencies)
// without referencing it; a project that limits `types` (e.g. to ["node"]) and checks libraries
// would report it missing. rxtrain's declarations reference it, so a strict consumer type-checks.
/// <reference types="long" preserve="true" />
/**
 * rxtrain: PyTorch Lightning for TypeScript, rebuilt on functional lines. A training run is a
 * cold RxJS stream of events produced by pure steps over explicit state; hooks are operators;
 * effects sit behind capability records.
 *
 * The public API, by group (README.md, "Public API", says what each is for). Namespaces gather
 * what only some users need (`nn`, `optim`, `metrics`, `random`, `effects`, `data`); everything
 * else is here by name. Whatever is not exported here is internal and may change.
 */

// Errors
export { isRxtrainError, RxtrainError } from './errors/rxtrainError.js'
export type { ErrorTag } from './errors/rxtrainError.js'

// Trees and keys (the rest of randomness: `random`)
export { cloneTree, countParams, disposeTree, flattenParams, mapParams, tensorsOf } from './tree/tree.js'
export type { Params, StateTree } from './tree/tree.js'
export { foldIn, key, split } from './random/key.js'
export type { Key } from './random/key.js'
export * as random from './random/index.js'

// Layers, optimizers, metrics
export * as nn from './nn/index.js'
export * as optim from './optim/index.js'
export * as metrics from './metrics/index.js'
export type { Model } from './nn/layer.js'
export type { GradientTransform, Schedule } from './optim/transform.js'
export type { Stat } from './metrics/stat.js'

// Backends and precision
export { describeChoice, startBackend } from './backends/accelerator.js'
export type { Accelerator, AcceleratorChoice } from './backends/accelerator.js'
export type { Backend, BackendName } from './backends/backend.js'
export { tidy } from './backends/tidy.js'
export { resolvePrecision } from './backends/precision.js'
export type { LossScale, Precision, PrecisionName, StorageDtype } from './backends/precision.js'

// Effects (the capabilities and their instances: `effects`)
export type { Env } from './effects/env.js'
export { liveEnv } from './effects/env.js'
export type { FileSystem } from './effects/fileSystem.js'
export * as effects from './effects/index.js'

// Data (sources of your own, column types, MNIST: `data`)
export { fromArrays } from './data/arraySource.js'
export type { DataModule } from './data/dataModule.js'
export { fromDataset } from './data/datasetSource.js'
export { withPrefetch } from './data/prefetch.js'
export type { BatchSource } from './data/source.js'
export { fromTensors } from './data/tensorSource.js'
export * as data from './data/index.js'

// The tuner: a learning rate and a batch size chosen before fit (`tuner.lrFind`, `tuner.scaleBatchSize`)
export * as tuner from './tuner/index.js'

// The loop
export { defineModule } from './pipeline/module.js'
export type { Module, Stage, StepContext, TrainStepOutput } from './pipeline/module.js'
export { fit } from './pipeline/fit.js'
export type { RunEnv } from './pipeline/fit.js'
export { predict, test, validate } from './pipeline/evaluate.js'
export { log } from './pipeline/logs.js'
export type { LogEntry, Logs, LogValue } from './pipeline/logs.js'
export { parseTrainerOptions } from './pipeline/options.js'
export type { BatchLimit, ResolvedOptions, TrainerOptions } from './pipeline/options.js'
export { defineConfig } from './config/defineConfig.js'
export { planFit } from './pipeline/plan.js'
export type { LoopPlan } from './pipeline/plan.js'
export type { LoopState } from './core/loopState.js'
export { applyGradients, computeGradients, trainStep } from './pipeline/step.js'
export type { TrainStepOptions } from './pipeline/step.js'
export type { TrainStepContext } from './pipeline/stepParts.js'

// Events (one event type: `EventOf<FitEvent, 'trainStep'>`)
export type { EvalEvent, EventOf, FitEndReason, FitEvent, Metrics, PredictEvent, TrainState } from './pipeline/events.js'

// Checkpoints
export { loadParams } from './checkpoint/loadParams.js'
export type { LoadParamsOptions } from './checkpoint/loadParams.js'
export { loadCheckpoint } from './checkpoint/readCheckpoint.js'
export type { CheckpointReadError, LoadedCheckpoint } from './checkpoint/readCheckpoint.js'
export { defineModuleFactory } from './checkpoint/moduleFactory.js'

// Export to the TensorFlow.js LayersModel format
export { exportLayersModel } from './export/saveLayersModel.js'
export type { ExportedLayersModel } from './export/saveLayersModel.js'

// Hooks: writing your own, and testing them
export { hook } from './flow/hook.js'
export { afterAll, perform, stop, update } from './flow/hookEffect.js'
export type { HookEffect, HookStates, Settled } from './flow/hookEffect.js'
export type { HookContext, HookResult, HookSpec } from './flow/hookSpec.js'
export { replayEvents } from './flow/replayEvents.js'
export type { ReplayOptions } from './flow/replayEvents.js'

// Hooks: the built-ins
export { checkpoint } from './hooks/checkpoint/checkpoint.js'
export type { CheckpointOptions } from './hooks/checkpoint/checkpoint.js'
export { earlyStopping } from './hooks/earlyStopping.js'
export type { EarlyStoppingOptions } from './hooks/earlyStopping.js'
export { csvLogger } from './hooks/csvLogger.js'
export type { CsvLoggerOptions } from './hooks/csvLogger.js'
export { jsonlLogger } from './hooks/jsonlLogger.js'
export type { JsonlLoggerOptions } from './hooks/jsonlLogger.js'
export { tensorboard } from './hooks/tensorboard.js'
export type { TensorBoardOptions } from './hooks/tensorboard.js'
export { progressBar } from './hooks/progressBar.js'
export type { ProgressBarOptions } from './hooks/progressBar.js'
export { modelSummary } from './hooks/modelSummary.js'
export type { ModelSummaryOptions } from './hooks/modelSummary.js'
export { lrMonitor } from './hooks/lrMonitor.js'
export type { LrMonitorOptions } from './hooks/lrMonitor.js'
export { timer } from './hooks/timer.js'
export type { TimerOptions } from './hooks/timer.js'
export { profiler } from './hooks/profiler.js'
export { collectPredictions } from './hooks/collectPredictions.js'
export { evalMetrics } from './hooks/evalMetrics.js'
export { printMetrics } from './hooks/printMetrics.js'
export { trainedModel } from './hooks/trainedModel.js'
// Fine-tuning schedules (optimizers that follow the epoch: hooks do not reach back into the loop)
export { backboneFinetuning } from './optim/backboneFinetuning.js'
export { gradientAccumulationScheduler } from './optim/accumulationScheduler.js'
export { stochasticWeightAveraging } from './optim/swa.js'
export { swaModel } from './pipeline/swaModel.js'
