import * as tf from '@tensorflow/tfjs-core'
import '../backends/gradients.js'
import { float32Precision, type LossScale, type Precision } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import { applyUpdates } from '../optim/applyUpdates.js'
import type { GradientTransform } from '../optim/transform.js'
import { leafTensors, mapTensors, type Params, type StateTree, tensorIdsOf, tensorsOf, unflattenParams, zipParams } from '../tree/tree.js'
import type { TrainState } from './events.js'
import type { Logs } from './logs.js'
import type { Module, StepContext } from './module.js'

/** A training batch's forward and backward pass, before any update. */
export interface Gradients<S extends Params> {
  readonly grads: Params
  /** The step's loss as the module returned it (not divided, not scaled). */
  readonly loss: tf.Scalar
  readonly logs: Logs | undefined
  /** The module's next non-trainable state (the given one when the step returned none). */
  readonly state: S
}

export interface GradientOptions {
  /** The loss is divided by this before differentiation (`accumulateGradBatches`). */
  readonly lossDivisor?: number
  readonly precision?: Precision
  readonly lossScale?: LossScale
}

/**
 * Runs `module.trainingStep` under a gradient tape and returns the gradients of its loss with
 * respect to every parameter (zeros for parameters the loss does not use), plus what the step
 * returned besides. Pure: new tensors only, nothing given is disposed. Call it inside `tf.tidy`
 * to release the tape's intermediates.
 */
export const computeGradients = <P extends Params, S extends Params, B>(
  module: Pick<Module<P, S, B>, 'trainingStep'>,
  model: Model<P, S>,
  batch: B,
  ctx: StepContext,
  options: GradientOptions = {},
): Gradients<S> => {
  const precision = options.precision ?? float32Precision
  const lossScale = options.lossScale ?? precision.initScale()
  const divisor = options.lossDivisor ?? 1
  const leaves = [...leafTensors(model.params)]
  const given = tensorIdsOf([model, batch])
  // The tape's forward scope releases everything but the loss, so what the step returns besides
  // is kept through it, then handed to the caller's scope as clones (a kept tensor would escape
  // every enclosing tidy, and leak if anything later failed).
  const kept: tf.Tensor[] = []
  let side: { loss: tf.Scalar; logs: Logs | undefined; state: S | undefined } | undefined
  try {
    const { value, grads } = tf.engine().gradients(
      () => {
        const out = module.trainingStep(model, batch, ctx)
        if (!(out.loss instanceof tf.Tensor) || out.loss.rank !== 0)
          throw rxtrainError(
            'ShapeError',
            `trainingStep must return a scalar loss, got ${out.loss instanceof tf.Tensor ? `a tensor of shape [${out.loss.shape.join(',')}]` : typeof out.loss}`,
            'reduce the loss to a scalar, e.g. with tf.mean(...).',
          )
        for (const t of tensorsOf([out.loss, out.logs, out.state]))
          if (!given.has(t.id)) kept.push(tf.keep(t))
        side = { loss: out.loss, logs: out.logs, state: out.state }
        const divided = divisor === 1 ? out.loss : tf.div(out.loss, divisor)
        return precision.scaleLoss(divided as tf.Scalar, lossScale)
      },
      leaves,
      undefined,
      true,
    )
    if (side === undefined) throw new Error('computeGradients: the training step did not run')
    // The differentiated scalar (the loss divided and scaled) is of no further use.
    if (!kept.includes(value)) value.dispose()
    const clones = new Map(kept.map((t) => [t.id, tf.clone(t)]))
    const owned = mapTensors(side, (t) => clones.get(t.id) ?? t)
    const filled = grads.map((g, i) => g ?? tf.zerosLike(leaves[i] as tf.Tensor))
    return {
      grads: precision.unscale(unflattenParams(model.params, filled), lossScale),
      loss: owned.loss,
      logs: owned.logs,
      state: owned.state ?? model.state,
    }
  } finally {
    for (const t of kept) t.dispose()
  }
}

/** Adds two gradient trees (gradient accumulation). */
export const addGradients = (a: Params, b: Params): Params => zipParams(a, b, (x, y) => tf.add(x, y))

/**
 * One optimizer update: transforms the gradients and adds them to the parameters. Pure: the
 * previous state is left intact (the loop releases it), the new one may share tensors with it.
 */
export const applyGradients = <P extends Params, S extends Params>(
  optimizer: GradientTransform<StateTree>,
  state: TrainState<P, S>,
  grads: Params,
): TrainState<P, S> => ({ ...state, ...optimizerUpdate(optimizer, state.params, state.optState, grads) })

/** `applyGradients` on the two fields it changes (the loop builds its states field by field: spreading them per step costs). */
export const optimizerUpdate = <P extends Params>(
  optimizer: GradientTransform<StateTree>,
  params: P,
  optState: StateTree,
  grads: Params,
): { readonly params: P; readonly optState: StateTree } => {
  const [updates, nextOptState] = optimizer.update(grads, optState, params)
  return { params: applyUpdates(params, updates), optState: nextOptState }
}

/** What one complete training step returns. */
export interface StepResult<P extends Params, S extends Params> {
  readonly state: TrainState<P, S>
  readonly loss: tf.Scalar
  readonly logs: Logs | undefined
}

/**
 * A whole training step as one pure function: `(state, batch, ctx) => { state', loss, logs }`.
 * This is what a user unit-tests: call it twice on the same inputs and get equal outputs, with
 * nothing given disposed.
 *
 * @example
 * const step = trainStep(module, module.optimizer)
 * const { state: next, loss } = tf.tidy(() => step(state, batch, ctx))
 */
export const trainStep =
  <P extends Params, S extends Params, B>(module: Pick<Module<P, S, B>, 'trainingStep'>, optimizer: GradientTransform<StateTree>) =>
  (state: TrainState<P, S>, batch: B, ctx: StepContext): StepResult<P, S> => {
    const g = computeGradients(module, state, batch, ctx)
    const next = applyGradients(optimizer, { ...state, state: g.state }, g.grads)
    return { state: next, loss: g.loss, logs: g.logs }
  }
