import * as tf from '@tensorflow/tfjs-core'
import type { LossScale } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import { applyUpdates } from '../optim/applyUpdates.js'
import { takePending, updateAt, withHostValues } from '../optim/deviceDecision.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { TrainState } from './events.js'
import type { Logs } from './logs.js'
import type { Module, StepContext } from './module.js'

/**
 * What a training step knows about its call: the module's context, and two values of the loop's
 * state that the step reads and the loop keeps (`fit` sets both; a hand-driven step may omit them).
 *
 * @example
 * const step = trainStep(module, optim.adam({ lr: 1e-3 }), { precision: '16-mixed' })
 * const first: TrainStepContext = { stage: 'train', training: true, key: foldIn(key(0), 0), epoch: 0, batchIdx: 0, globalStep: 0 }
 * const out = tidy(() => step(state, batch, first))
 * const second: TrainStepContext = { ...first, key: foldIn(key(0), 1), batchIdx: 1, globalStep: 1, lossScale: out.lossScale }
 */
export interface TrainStepContext extends StepContext {
  /**
   * The dynamic loss scale of a `'16-mixed'` run; the step returns the next one. When absent, the
   * precision policy's initial scale (no scaling under the other policies).
   */
  readonly lossScale?: LossScale
  /**
   * Whether this batch ends an accumulation window with an optimizer step (only read under
   * `accumulateGradBatches` > 1). Default: every k-th batch of the epoch, `(batchIdx + 1) % k === 0`.
   * Lightning and `fit` also step on an epoch's last batch: pass `true` there.
   */
  readonly optimizerStep?: boolean
}

/** The part of the context the gradient half reads after the tape. */
export type GradientContext = Pick<TrainStepContext, 'lossScale'>
/** The part of the context the update half reads. */
export type StepUpdateContext = Pick<TrainStepContext, 'batchIdx' | 'lossScale' | 'optimizerStep'>

/** The forward pass, run under the gradient tape. */
export interface Forward<S extends Params> {
  /** The loss as the module returned it (reported and logged). */
  readonly loss: tf.Scalar
  /** The scalar that is differentiated (the loss divided for accumulation, scaled for float16). */
  readonly objective: tf.Scalar
  readonly logs: Logs | undefined
  /** The module's next non-trainable state, if it returned one. */
  readonly state: S | undefined
}

/** What the update half is given: a batch's gradients (summed over ranks) and the model state it produced. */
export interface StepGradients<S extends Params> {
  readonly grads: Params
  readonly state: S
}

/** The update half's answer. */
export interface Updated<P extends Params, S extends Params> {
  readonly state: TrainState<P, S>
  /** False when the step was skipped because its gradients were not all finite (`'16-mixed'`). */
  readonly gradsFinite: boolean
  /** Whether this batch ended with an optimizer step (taken or skipped), rather than accumulating. */
  readonly stepped: boolean
  /** The loss scale for the next step. */
  readonly lossScale: LossScale
  /**
   * Set when non-finite decisions were taken on the device (a backend that cannot read them on
   * the host: `'16-mixed'`'s skipped steps, `applyIfFinite`): a bool tensor of shape [n], one flag
   * per decision, owned by the result. The tensors of `state` are already selected on the device;
   * its host values (Adam's count, the guard's counters), `gradsFinite` (true) and `lossScale`
   * (the incoming one) are provisional: the loop reads the flags with the step's loss and takes
   * `settle(flags)` instead.
   */
  readonly finiteFlag?: tf.Tensor
  /**
   * With `finiteFlag`: the step's state, `gradsFinite` and next loss scale once its flags are read.
   * The state holds the same tensors as `state` (only host values differ), so releasing against
   * either is the same.
   */
  readonly settle?: (flags: readonly boolean[]) => Settled<P, S>
  /** The device decisions inside the step, innermost first (between transformers; `withPrecision` turns them into `finiteFlag` and `settle`). */
  readonly decisions?: readonly DeviceDecision<P, S>[]
}

/** What a step decided on the device comes to, once its flags are read. */
export interface Settled<P extends Params, S extends Params> {
  readonly state: TrainState<P, S>
  readonly gradsFinite: boolean
  readonly lossScale: LossScale
}

/** One non-finite decision taken on the device. */
export interface DeviceDecision<P extends Params, S extends Params> {
  /** True (a bool scalar) when the values were all finite. */
  readonly flag: tf.Tensor
  /** The state's host values when the flag reads false (its tensors stay). */
  ifNotFinite(state: TrainState<P, S>): TrainState<P, S>
  /** Set for a skipped precision step (`skipNonFinite`): the loss scale after it; its flag is then `gradsFinite`. */
  readonly lossScale?: (finite: boolean) => LossScale
}

/** The decisions `applyIfFinite` left in an optimizer state (see `markPending`), innermost first. */
const optimizerDecisions = <P extends Params, S extends Params>(optState: StateTree): DeviceDecision<P, S>[] =>
  takePending(optState)
    .reverse()
    .map(({ path, decision }) => ({
      flag: decision.flag,
      ifNotFinite: (s: TrainState<P, S>) => trainState(s.params, s.state, updateAt(s.optState, path, (node) => withHostValues(node, decision.hostIfNotFinite)), s.gradAccumulator ?? null),
    }))

/**
 * A training step as its three stages: `forward` (under the gradient tape), `gradients` (after the
 * tape) and `update`. Data-parallel ranks run the first two on their shards; the gradients are
 * summed between them and `update`. Step transformers (`withPrecision`, `withAccumulation`,
 * `skipNonFinite`) wrap these stages; `computeGradients` and `applyGradients` run them.
 */
export interface StepParts<P extends Params, S extends Params, B> {
  forward(model: Model<P, S>, batch: B, ctx: TrainStepContext): Forward<S>
  /** The gradients of the loss, from those of the objective. */
  gradients(grads: Params, ctx: GradientContext): Params
  update(state: TrainState<P, S>, g: StepGradients<S>, ctx: StepUpdateContext): Updated<P, S>
  /** The leaves the loss is differentiated against (one group's, for a module with several losses); absent: all of them. */
  readonly wrt?: (path: string, leaf: tf.Tensor) => boolean
}

/** Wraps a step's stages (e.g. with loss scaling, or gradient accumulation). */
export type StepTransformer = <P extends Params, S extends Params, B>(inner: StepParts<P, S, B>) => StepParts<P, S, B>

/** The loss scale of a step that does not scale: 1. */
export const unitScale: LossScale = { scale: 1, goodSteps: 0 }

/** A train state built field by field, always in one shape. */
export const trainState = <P extends Params, S extends Params>(params: P, state: S, optState: StateTree, gradAccumulator: Params | null): TrainState<P, S> => ({
  params,
  state,
  optState,
  gradAccumulator,
})

/** `params + optimizer.update(grads)`, and the optimizer's next state. */
const applied = (optimizer: GradientTransform<StateTree>, grads: Params, optState: StateTree, params: Params): readonly [Params, StateTree] => {
  const [updates, next] = optimizer.update(grads, optState, params)
  return [applyUpdates(params, updates), next]
}

/**
 * The plain step: the module's `trainingStep` differentiated as it is, and one optimizer update
 * (`params + optimizer.update(grads)`) per batch.
 */
export const baseStep = <P extends Params, S extends Params, B>(module: Pick<Module<P, S, B>, 'trainingStep'>, optimizer: GradientTransform<StateTree>): StepParts<P, S, B> => ({
  forward: (model, batch, ctx) => {
    const out = module.trainingStep(model, batch, ctx)
    if (!(out.loss instanceof tf.Tensor) || out.loss.rank !== 0)
      throw rxtrainError(
        'ShapeError',
        `trainingStep must return a scalar loss, got ${out.loss instanceof tf.Tensor ? `a tensor of shape [${out.loss.shape.join(',')}]` : typeof out.loss}`,
        'reduce the loss to a scalar, e.g. with tf.mean(...).',
      )
    return { loss: out.loss, objective: out.loss, logs: out.logs, state: out.state }
  },
  gradients: (grads) => grads,
  update: (before, g, ctx) => {
    // A fused step (Adam's kernel with its learning rate and the parameters' update) where the
    // backend has one: bitwise the same parameters as the update and its application.
    const fused = optimizer.fusedStep?.(g.grads, before.optState, before.params)
    const [params, optState] = fused ?? applied(optimizer, g.grads, before.optState, before.params)
    const decisions = optimizerDecisions<P, S>(optState)
    return {
      state: trainState(params as P, g.state, optState, null),
      gradsFinite: true,
      stepped: true,
      lossScale: ctx.lossScale ?? unitScale,
      ...(decisions.length > 0 && { decisions }),
    }
  },
})

/**
 * `base` wrapped by `transformers`, the first one outermost: its `forward` sees the module's loss
 * last (after the inner transformers changed the objective), its `update` runs around the others.
 */
export const composeStep = <P extends Params, S extends Params, B>(base: StepParts<P, S, B>, ...transformers: readonly StepTransformer[]): StepParts<P, S, B> =>
  transformers.reduceRight<StepParts<P, S, B>>((inner, t) => t(inner), base)
