/**
 * rxtrain's optimizers, in the Optax design: gradient transformations (`{ init, update }` pairs
 * over explicit state) composed with `chain`, ready-made optimizers built from them, and
 * learning-rate schedules as plain functions of the step.
 *
 * @example
 * import { optim } from 'rxtrain'
 * const optimizer = optim.chain(
 *   optim.clipByGlobalNorm(1),
 *   optim.adamw({ lr: optim.warmupCosineDecay({ peak: 1e-3, warmupSteps: 100, decaySteps: 5000 }) }),
 * )
 */
export { asSchedule, withUpdateContext } from './transform.js'
export type { GradientTransform, ScalarOrSchedule, Schedule, StateOf, UpdateContext } from './transform.js'
export { identity } from './identity.js'
export type { EmptyState } from './identity.js'
export { chain } from './chain.js'
export type { ChainState } from './chain.js'
export { scale, scaleByLearningRate, scaleBySchedule } from './scale.js'
export type { CountState } from './scale.js'
export { scaleByAdam } from './adam.js'
export type { AdamOptions, AdamState } from './adam.js'
export { scaleByRms } from './rms.js'
export type { RmsOptions, RmsState } from './rms.js'
export { trace } from './trace.js'
export type { TraceOptions, TraceState } from './trace.js'
export { addDecayedWeights } from './weightDecay.js'
export type { DecayedWeightsOptions } from './weightDecay.js'
export { clipByGlobalNorm, clipByValue, globalNorm } from './clip.js'
export { applyIfFinite } from './applyIfFinite.js'
export type { ApplyIfFiniteOptions, ApplyIfFiniteState } from './applyIfFinite.js'
export { accumulateGradients } from './accumulate.js'
export type { AccumulateState } from './accumulate.js'
export { reduceOnPlateau } from './plateau.js'
export type { PlateauOptions, PlateauState } from './plateau.js'
export {
  constantSchedule,
  cosineDecay,
  exponentialDecay,
  joinSchedules,
  linearSchedule,
  stepDecay,
} from './schedules.js'
export { oneCycle, warmupCosineDecay } from './warmupSchedules.js'
export type { OneCycleOptions, WarmupCosineOptions } from './warmupSchedules.js'
export { adam, adamw, rmsprop, sgd } from './aliases.js'
export type { AdamAliasOptions, AdamWOptions, RmspropOptions, SgdOptions } from './aliases.js'
export { applyUpdates } from './applyUpdates.js'
export { averagedParams, ema } from './ema.js'
export type { EmaOptions, EmaState } from './ema.js'
export type { AccumulationSchedulerState } from './accumulationScheduler.js'
export type { BackboneFinetuningOptions, BackboneState } from './backboneFinetuning.js'
export { swaParams } from './swa.js'
export type { StochasticWeightAveragingOptions, SwaState } from './swa.js'
export { freeze, masked, multiTransform } from './multiTransform.js'
export type { LeafPredicate, MultiTransformState } from './multiTransform.js'
