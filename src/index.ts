/**
 * rxtrain: PyTorch Lightning for TypeScript, rebuilt on functional lines. A training run is a
 * cold RxJS stream of events produced by pure steps over explicit state; hooks are operators;
 * effects sit behind capability records.
 */

// Errors
export { hasTag, isRxtrainError, RxtrainError, rxtrainError } from './errors/rxtrainError.js'
export type { ErrorDetails, ErrorTag } from './errors/rxtrainError.js'

// Trees and randomness
export { cloneTree, countParams, disposeTree, flattenParams, mapParams, mapTensors, releaseGeneration, specOf, structureDiff, tensorsOf, unflattenParams, zipParams } from './tree/tree.js'
export type { LeafSpec, ParamLeaf, Params, StateTree } from './tree/tree.js'
export { foldIn, key, keyEquals, keyFromWords, randomBits, split } from './random/key.js'
export type { Key } from './random/key.js'
export { bernoulli, normal, permutation, truncatedNormal, uniform, uniform01 } from './random/sample.js'

// Layers, optimizers, metrics
export * as nn from './nn/index.js'
export * as optim from './optim/index.js'
export * as metrics from './metrics/index.js'
export type { Model } from './nn/layer.js'
export type { GradientTransform, Schedule } from './optim/transform.js'
export type { Stat } from './metrics/stat.js'

// Backends and precision
export { accelerators, resolveAccelerator } from './backends/accelerator.js'
export type { Accelerator } from './backends/accelerator.js'
export type { Backend, BackendName, DeviceKind, MemoryInfo } from './backends/backend.js'
export { tidy } from './backends/tidy.js'
export { cpuBackend } from './backends/cpu.js'
export { wasmBackend } from './backends/wasm.js'
export { float32Precision, precisionNames, resolvePrecision } from './backends/precision.js'
export type { LossScale, Precision, PrecisionName, StorageDtype } from './backends/precision.js'

// Effects
export type { Clock, ManualClock } from './effects/clock.js'
export { manualClock, systemClock } from './effects/clock.js'
export type { BufferConsole, Console } from './effects/console.js'
export { bufferConsole, liveConsole } from './effects/console.js'
export type { Env } from './effects/env.js'
export { liveEnv } from './effects/env.js'
export type { FileError, FileSystem } from './effects/fileSystem.js'
export { memoryFileSystem } from './effects/memoryFileSystem.js'
export type { MemoryFileSystem } from './effects/memoryFileSystem.js'
export { nodeFileSystem } from './effects/nodeFileSystem.js'
export { packageFile } from './effects/packageFile.js'

// Data
export { exampleCount, fromArrays } from './data/arraySource.js'
export type { Column, ColumnBatch, ColumnData, Columns } from './data/arraySource.js'
export type { BatchingOptions } from './data/batching.js'
export type { DataModule } from './data/dataModule.js'
export { fromDataset } from './data/datasetSource.js'
export type { DatasetSourceOptions } from './data/datasetSource.js'
export { decodeIdx } from './data/idx.js'
export type { IdxArray } from './data/idx.js'
export { loadMnist, loadMnistPackage, mnistDataModule } from './data/mnist.js'
export type { MnistArrays, MnistBatch, MnistOptions, MnistSplit } from './data/mnist.js'
export { withPrefetch } from './data/prefetch.js'
export { done } from './data/source.js'
export type { BatchIterator, BatchSource, PassOrder, Pull } from './data/source.js'
export { fromTensors } from './data/tensorSource.js'
export type { TensorBatch, TensorColumns } from './data/tensorSource.js'

// The loop
export { defineModule } from './pipeline/module.js'
export type { Module, OptimizerSpec, Stage, StepContext, TrainStepOutput } from './pipeline/module.js'
export { fit } from './pipeline/fit.js'
export type { RunEnv } from './pipeline/fit.js'
export { predict, test, validate } from './pipeline/evaluate.js'
export type * from './pipeline/events.js'
export { log } from './pipeline/logs.js'
export type { LogEntry, LogScalar, Logs, LogValue, Reduction } from './pipeline/logs.js'
export { defaultOptions, parseTrainerOptions, TrainerOptionsCodec } from './pipeline/options.js'
export type { BatchLimit, ResolvedOptions, TrainerOptions } from './pipeline/options.js'
export { canStopEarly, isOptimizerStepBatch, isValidationEpoch, isValidationPoint, limitBatches, planFit } from './pipeline/plan.js'
export type { LoopPlan, PlanInputs } from './pipeline/plan.js'
export { addGradients, applyGradients, computeGradients, trainStep } from './pipeline/step.js'
export type { GradientOptions, Gradients, StepResult } from './pipeline/step.js'

// Hooks
export { collectPredictions } from './hooks/collectPredictions.js'
export { evalMetrics } from './hooks/evalMetrics.js'
export { formatMetrics, printMetrics } from './hooks/printMetrics.js'
export type { PrintMetricsOptions } from './hooks/printMetrics.js'
export { trainedModel } from './hooks/trainedModel.js'
