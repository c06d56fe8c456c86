import * as tf from '@tensorflow/tfjs-core'
import { canonicalPrecision, defaultLossScaler, float32Precision, type LossScale, type LossScalerOptions, type Precision, type PrecisionInput, resolvePrecision } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import type { GradientTransform } from '../optim/transform.js'
import { flattenParams, leafTensors, mapTensors, type Params, type StateTree, tensorIdsOf, tensorsOf, unflattenParams } from '../tree/tree.js'
import type { TrainState } from './events.js'
import { valueAndGrads } from '../backends/gradientTape.js'
import type { Logs } from './logs.js'
import type { Module, OptimizerSpec } from './module.js'
import type { LoopPlan } from './plan.js'
import { baseStep, composeStep, type Forward, type GradientContext, type StepGradients, type StepParts, type StepUpdateContext, type TrainStepContext, type Updated } from './stepParts.js'
import { addGradients, type ClippingOptions, clippedOptimizer, skipNonFinite, withAccumulation, withPrecision } from './stepTransformers.js'
import { type GradNormMode, gradNormLogs } from './gradNorms.js'
import { groupedStep } from './groupStep.js'

export { addGradients } from './stepTransformers.js'

/** A training batch's forward and backward pass, before any update. */
export interface Gradients<S extends Params> extends StepGradients<S> {
  /** The gradients of the loss (divided by the accumulation count, unscaled). */
  readonly grads: Params
  /** The step's loss as the module returned it (not divided, not scaled). */
  readonly loss: tf.Scalar
  readonly logs: Logs | undefined
  /** The module's next non-trainable state (the given one when the step returned none). */
  readonly state: S
}

/** The gradients of every leaf from those of the `chosen` ones (zeros for the others). */
const fillOthers = (all: readonly tf.Tensor[], chosen: readonly boolean[], grads: readonly (tf.Tensor | null | undefined)[]): tf.Tensor[] => {
  let j = 0
  return all.map((t, i) => (chosen[i] === true ? (grads[j++] ?? tf.zerosLike(t)) : tf.zerosLike(t)))
}

/**
 * The gradient half of a step: runs its forward pass (`module.trainingStep`, under the step's
 * precision and accumulation) under a gradient tape and returns the gradients of the loss with
 * respect to every parameter (zeros for parameters the loss does not use), plus what the module
 * returned besides. Pure: new tensors only, nothing given is disposed, and nothing is left behind
 * when the module or the backward pass throws. Call it inside `tidy` to release the tape's
 * intermediates. Data-parallel ranks call it on their shards.
 *
 * @example
 * const step = trainStep(module, optim.sgd({ lr: 0.1 }))
 * const { grads, loss } = tidy(() => computeGradients(step, state, batch, ctx))
 * console.log(loss.dataSync()[0], optim.globalNorm(grads).dataSync()[0]) // the loss, and the gradients' norm
 */
export const computeGradients = <P extends Params, S extends Params, B>(
  step: Pick<StepParts<P, S, B>, 'forward' | 'gradients' | 'wrt'>,
  model: Model<P, S>,
  batch: B,
  ctx: TrainStepContext,
): Gradients<S> => {
  const all = leafTensors(model.params)
  // A loss of several (`Module.groups`) is differentiated against its group's leaves alone.
  const chosen = step.wrt === undefined ? undefined : flattenParams(model.params).map((l) => step.wrt?.(l.path, l.tensor) === true)
  const leaves = chosen === undefined ? [...all] : all.filter((_, i) => chosen[i])
  const given = tensorIdsOf([model, batch])
  // The tape's forward scope releases everything but the objective, so what the step returns
  // besides is kept through it, then handed to the caller's scope as clones (a kept tensor would
  // escape every enclosing tidy, and leak if anything later failed).
  const kept: tf.Tensor[] = []
  let side: Forward<S> | undefined
  try {
    const { value, grads } = valueAndGrads(() => {
      const f = step.forward(model, batch, ctx)
      for (const t of tensorsOf([f.loss, f.logs, f.state])) if (!given.has(t.id)) kept.push(tf.keep(t))
      side = f
      return f.objective
    }, leaves)
    if (side === undefined) throw new Error('computeGradients: the training step did not run')
    // The differentiated scalar (the loss divided and scaled) is of no further use.
    if (!kept.includes(value)) value.dispose()
    const clones = new Map(kept.map((t) => [t.id, tf.clone(t)]))
    const owned = mapTensors({ loss: side.loss, logs: side.logs, state: side.state }, (t) => clones.get(t.id) ?? t)
    const filled = chosen === undefined ? grads.map((g, i) => g ?? tf.zerosLike(leaves[i] as tf.Tensor)) : fillOthers(all, chosen, grads)
    return {
      grads: step.gradients(unflattenParams(model.params, filled), ctx),
      loss: owned.loss,
      logs: owned.logs,
      state: owned.state ?? model.state,
    }
  } finally {
    for (const t of kept) t.dispose()
  }
}

/**
 * The update half of a step: the batch's gradients (summed over data-parallel ranks) added to an
 * accumulation window, or applied by the optimizer (skipped when not finite under loss scaling),
 * the result stored as the precision keeps it. Pure: the previous state is left intact (the loop
 * releases it), the new one may share tensors with it. Call it inside `tidy`.
 *
 * @example
 * // one step in two halves, as a data-parallel rank runs it (the all-reduce would go between)
 * const step = trainStep(module, optim.adam({ lr: 1e-3 }))
 * const next = tidy(() => applyGradients(step, state, computeGradients(step, state, batch, ctx), ctx))
 * backend.release(state, next.state)
 */
export const applyGradients = <P extends Params, S extends Params>(
  step: Pick<StepParts<P, S, never>, 'update'>,
  state: TrainState<P, S>,
  gradients: StepGradients<S>,
  ctx: StepUpdateContext,
): Updated<P, S> => step.update(state, gradients, ctx)

/** What one complete training step returns. */
export interface StepResult<P extends Params, S extends Params> extends Updated<P, S> {
  readonly state: TrainState<P, S>
  /** The loss as the module returned it. */
  readonly loss: tf.Scalar
  readonly logs: Logs | undefined
}

/**
 * How `trainStep` trains: Lightning's trainer options for a step, by the same names.
 *
 * @example
 * const options: TrainStepOptions = { precision: 'bf16-mixed', accumulateGradBatches: 4, gradientClipVal: 1, gradientClipAlgorithm: 'norm' }
 * const step = trainStep(module, optim.adamw({ lr: 1e-3 }), options)
 */
export interface TrainStepOptions extends ClippingOptions {
  /** A precision name or alias (`'16-mixed'`, `'bf16'`, `32`, ...), or a resolved policy. Default `'32-true'`. */
  readonly precision?: PrecisionInput | Precision
  /** The `'16-mixed'` loss scaler's settings (with a precision name). */
  readonly lossScaler?: Partial<LossScalerOptions>
  /** Batches whose gradients are summed before each optimizer step. Default 1. */
  readonly accumulateGradBatches?: number
  /**
   * Log the L2 norm of the gradients each optimizer step receives (summed over the accumulation
   * window, unscaled, before clipping), as Lightning's `grad_norm`: `'global'` (`grad_norm`),
   * `'per-group'`, `'per-parameter'` (see `GradNormMode`). Default `'off'`: the step is unchanged.
   */
  readonly logGradNorm?: GradNormMode
  /**
   * The plan an optimizer given as a function of the plan is built for (a module's `optimizer`
   * with a schedule over the run's length), as `fit` builds it: `planFit(options, sizes)`.
   */
  readonly plan?: LoopPlan
}

/** Runs `f` as a named part of a step (the profiler times the parts; untimed: `f()`). */
export type StepPhase = <T>(name: 'forward+backward' | 'optimizer update', f: () => T) => T

const untimed: StepPhase = (_name, f) => f()

/**
 * One step from its parts: the gradient half, the update half, and the gradient norms of a
 * window that closed with an optimizer step (the gradients summed over the window: the
 * accumulator before this batch plus this batch's), added to the step's logs.
 */
export const runStep = <P extends Params, S extends Params, B>(
  parts: StepParts<P, S, B>,
  logGradNorm: GradNormMode,
  state: TrainState<P, S>,
  batch: B,
  ctx: TrainStepContext,
  phase: StepPhase = untimed,
): StepResult<P, S> => {
  const g = phase('forward+backward', () => computeGradients(parts, state, batch, ctx))
  const u = phase('optimizer update', () => applyGradients(parts, state, g, ctx))
  const norms = logGradNorm === 'off' || !u.stepped ? undefined : phase('optimizer update', () => gradNormLogs(state.gradAccumulator == null ? g.grads : addGradients(state.gradAccumulator, g.grads), logGradNorm))
  return {
    state: u.state,
    loss: g.loss,
    logs: norms === undefined ? g.logs : { ...g.logs, ...norms },
    gradsFinite: u.gradsFinite,
    stepped: u.stepped,
    lossScale: u.lossScale,
    ...(u.finiteFlag !== undefined && { finiteFlag: u.finiteFlag }),
    ...(u.settle !== undefined && { settle: u.settle }),
  }
}

/** A training step: a pure function, and the two halves it is made of. */
export interface TrainStep<P extends Params, S extends Params, B> extends StepParts<P, S, B> {
  (state: TrainState<P, S>, batch: B, ctx: TrainStepContext): StepResult<P, S>
  /** The optimizer the step updates with (behind the clipping, when asked for): initialise its state with `init`. */
  readonly optimizer: GradientTransform<StateTree>
  readonly precision: Precision
  readonly accumulateGradBatches: number
  /** Which gradient norms the step logs (`'off'`: none). */
  readonly logGradNorm: GradNormMode
  /** The first training state for a model, stored as the precision keeps it (as `fit` starts). */
  init(model: Model<P, S>): TrainState<P, S>
}

const precisionOf = (o: TrainStepOptions): Precision => {
  const p = o.precision
  if (p === undefined) return float32Precision
  if (typeof p === 'object') return p
  const name = canonicalPrecision(p)
  if (name === undefined)
    throw rxtrainError('ConfigError', `trainStep: precision ${JSON.stringify(p)} is not a precision`, "use '32-true', '16-mixed', 'bf16-mixed', '16-true' or 'bf16-true'.", { field: 'precision' })
  return resolvePrecision(name, { ...defaultLossScaler, ...o.lossScaler })
}

/** The transform a module's optimizer is for a plan (a plain transform as it is). Without a plan, a function of one is a `ConfigError`. */
export const optimizerFor = (optimizer: OptimizerSpec, plan: LoopPlan | undefined): GradientTransform<StateTree> => {
  if (typeof optimizer !== 'function') return optimizer
  if (plan === undefined)
    throw rxtrainError('ConfigError', 'trainStep: the optimizer is a function of the loop plan, and no plan was given', 'pass { plan: planFit(options, sizes) } in the options, or a GradientTransform.', { field: 'plan' })
  return optimizer(plan)
}

/**
 * A whole training step as one pure function, `(state, batch, ctx) => { state, loss, logs,
 * gradsFinite, stepped, lossScale }`, exactly the step `fit` runs (on one device and, split in its
 * two halves `computeGradients` / `applyGradients` around the all-reduce, on every data-parallel
 * rank). It is composed of step transformers around the module's step and the optimizer:
 * `withPrecision(policy)` (compute casts, loss scaling, rounded storage), `withAccumulation(k)`,
 * `skipNonFinite` (under `'16-mixed'`); gradient clipping is chained in front of the optimizer.
 * Call it twice on the same inputs and get equal outputs, with nothing given disposed.
 *
 * The loop's part: pass `ctx.lossScale` back in from the previous result (`'16-mixed'`), and with
 * accumulation `ctx.optimizerStep: true` on an epoch's last batch.
 *
 * @example
 * const step = trainStep(module, module.optimizer, { precision: '16-mixed', accumulateGradBatches: 2, gradientClipVal: 1 })
 * let state = tidy(() => step.init(module.init(key(0))))
 * let lossScale = step.precision.initScale()
 * for (const [batchIdx, batch] of batches.entries()) {
 *   const ctx = { stage: 'train' as const, training: true, key: foldIn(key(1), batchIdx), epoch: 0, batchIdx, globalStep: 0, lossScale }
 *   const out = tidy(() => step(state, batch, ctx))
 *   backend.release(state, out.state)   // frees what the new state does not share with the old
 *   out.loss.dispose()
 *   state = out.state
 *   lossScale = out.lossScale
 * }
 */
export const trainStep = <P extends Params, S extends Params, B>(
  module: Pick<Module<P, S, B>, 'trainingStep' | 'groups'>,
  optimizer: OptimizerSpec,
  options: TrainStepOptions = {},
): TrainStep<P, S, B> => {
  const precision = precisionOf(options)
  const k = options.accumulateGradBatches ?? 1
  const effective = clippedOptimizer(optimizerFor(optimizer, options.plan), options)
  const parts = composeStep(
    baseStep(module, effective),
    withPrecision(precision),
    withAccumulation(k),
    ...(precision.skipsNonFinite ? [skipNonFinite((s: LossScale, finite: boolean) => precision.nextScale(s, finite), precision.finite)] : []),
  )
  const logGradNorm = options.logGradNorm ?? 'off'
  // Several losses (`module.groups`): one such step per group, in order (see `groupedStep`).
  const grouped = module.groups === undefined ? undefined : groupedStep(module, module.groups, effective, precision, k, (p, s, b, c) => runStep(p, logGradNorm, s, b, c))
  const step = grouped?.step ?? ((state: TrainState<P, S>, batch: B, ctx: TrainStepContext): StepResult<P, S> => runStep(parts, logGradNorm, state, batch, ctx))
  const stepParts = grouped?.parts ?? parts
  return Object.assign(step, {
    forward: stepParts.forward,
    gradients: (grads: Params, ctx: GradientContext) => stepParts.gradients(grads, ctx),
    update: stepParts.update,
    optimizer: effective,
    precision,
    accumulateGradBatches: k,
    logGradNorm,
    init: (model: Model<P, S>): TrainState<P, S> => {
      const stored = precision.storeState(model)
      return { params: stored.params, state: stored.state, optState: precision.storeState(effective.init(stored.params)), gradAccumulator: null }
    },
  })
}
