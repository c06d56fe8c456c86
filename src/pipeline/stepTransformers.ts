import * as tf from '@tensorflow/tfjs-core'
import type { FiniteCheck } from '../backends/finite.js'
import type { LossScale, Precision } from '../backends/precision.js'
import { allFinite } from '../optim/applyIfFinite.js'
import { selectTree, withHostValues } from '../optim/deviceDecision.js'
import { chain } from '../optim/chain.js'
import { clipByGlobalNorm, clipByValue } from '../optim/clip.js'
import type { GradientTransform } from '../optim/transform.js'
import { requireInteger } from '../optim/validate.js'
import { type Params, type StateTree, zipParams } from '../tree/tree.js'
import { type DeviceDecision, type Settled, type StepTransformer, trainState, type TrainStepContext, type Updated, unitScale } from './stepParts.js'

/** Adds two gradient trees (gradient accumulation). */
export const addGradients = (a: Params, b: Params): Params => zipParams(a, b, (x, y) => tf.add(x, y))

/**
 * A precision policy around the step (Lightning's precision plugin): the module computes with the
 * policy's cast in its context (`nn.computeInput` rounds matmul and convolution inputs), the
 * objective is multiplied by the loss scale before differentiation and the gradients divided by it
 * after, and every new training state is stored as the policy keeps it (rounded under `-true`).
 * Under `'32-true'` every stage is the identity. The step's `lossScale` defaults to the policy's
 * initial one. Place it outermost; its non-finite skipping is `skipNonFinite`, innermost. It also
 * turns the step's device decisions into the result's `finiteFlag` and `settle`.
 */
export const withPrecision =
  (precision: Precision): StepTransformer =>
  (inner) => {
    const scaleOf = (ctx: { readonly lossScale?: LossScale | undefined }): LossScale => ctx.lossScale ?? precision.initScale()
    const computes = precision.computeFormat !== undefined
    return {
      forward: (model, batch, ctx) => {
        const lossScale = scaleOf(ctx)
        const f = inner.forward(model, batch, { ...ctx, lossScale, ...(computes && { castCompute: precision.castCompute }) })
        return { ...f, objective: precision.scaleLoss(f.objective, lossScale) }
      },
      gradients: (grads, ctx) => precision.unscale(inner.gradients(grads, ctx), scaleOf(ctx)),
      update: (before, g, ctx) => {
        const r = inner.update(before, g, { ...ctx, lossScale: scaleOf(ctx) })
        return settleDecisions({ ...r, state: precision.storeState(r.state) })
      },
    }
  }

/**
 * Gradient accumulation (Lightning's `accumulate_grad_batches`): the loss is divided by `k` before
 * differentiation, each batch's gradients are added to the state's `gradAccumulator`, and the
 * inner update runs on their sum when a window closes (`ctx.optimizerStep`, by default every k-th
 * batch). Between optimizer steps the parameters and optimizer state stay as they are.
 */
export const withAccumulation = (k: number): StepTransformer => {
  requireInteger('withAccumulation', 'k', k, 1)
  return (inner) =>
    k === 1
      ? inner
      : {
          forward: (model, batch, ctx) => {
            const f = inner.forward(model, batch, ctx)
            return { ...f, objective: tf.div(f.objective, k) as tf.Scalar }
          },
          gradients: inner.gradients,
          update: (before, g, ctx) => {
            const sum = before.gradAccumulator == null ? g.grads : addGradients(before.gradAccumulator, g.grads)
            if (!(ctx.optimizerStep ?? (ctx.batchIdx + 1) % k === 0))
              return { state: trainState(before.params, g.state, before.optState, sum), gradsFinite: true, stepped: false, lossScale: ctx.lossScale ?? unitScale }
            return inner.update(trainState(before.params, before.state, before.optState, null), { grads: sum, state: g.state }, ctx)
          },
        }
}

/**
 * Skips an optimizer update whose gradients are not all finite (PyTorch's `GradScaler.step`): the
 * parameters and optimizer state stay as they were, the model state moves on, and the loss scale
 * moves by `nextScale` after every update, skipped or not. One host read of a boolean per update,
 * with `check` (the run's backend's; absent: the engine's current backend).
 *
 * Where `check` cannot read on the host (webgpu in Node), the decision is taken on the device:
 * the update always runs, the parameters and the optimizer state's tensors are selected with
 * `tf.where` on the flag (bitwise the host branch), and the step hands the flag on as a
 * `DeviceDecision`; the loop reads it with the loss and settles the host values (the optimizer's
 * counts), `gradsFinite` and the loss scale (`StepResult.settle`).
 */
export const skipNonFinite =
  (nextScale: (s: LossScale, gradsFinite: boolean) => LossScale, check?: FiniteCheck): StepTransformer =>
  (inner) => ({
    ...inner,
    update: (before, g, ctx) => {
      const incoming = ctx.lossScale ?? unitScale
      if (check !== undefined && check.onHost === undefined) {
        const flag = check.onDevice(g.grads)
        const r = inner.update(before, g, ctx)
        const state = trainState(selectTree(flag, r.state.params, before.params), r.state.state, selectTree(flag, r.state.optState, before.optState), null)
        const decision: DeviceDecision<Params, Params> = {
          flag,
          ifNotFinite: (s) => trainState(s.params, s.state, withHostValues(s.optState, before.optState), s.gradAccumulator ?? null),
          lossScale: (finite) => nextScale(incoming, finite),
        }
        return { ...r, state, gradsFinite: true, stepped: true, lossScale: incoming, decisions: [...(r.decisions ?? []), decision as DeviceDecision<typeof state.params, typeof state.state>] }
      }
      const finite = allFinite(g.grads, check)
      const lossScale = nextScale(incoming, finite)
      if (finite) return { ...inner.update(before, g, ctx), lossScale }
      return { state: trainState(before.params, g.state, before.optState, null), gradsFinite: false, stepped: true, lossScale }
    },
  })

/**
 * The device decisions of an update as the loop takes them: their flags stacked (one read), and
 * what the state, `gradsFinite` and loss scale are once they are read. Decisions apply innermost
 * first (a skipped step's optimizer state then overrides an inner guard's).
 */
const settleDecisions = <P extends Params, S extends Params>(r: Updated<P, S>): Updated<P, S> => {
  const decisions = r.decisions
  if (decisions === undefined || decisions.length === 0) return r
  const { decisions: _, ...rest } = r
  const settle = (flags: readonly boolean[]): Settled<P, S> => {
    let state = r.state
    let gradsFinite = r.gradsFinite
    let lossScale = r.lossScale
    decisions.forEach((d, i) => {
      const finite = flags[i] === true
      if (!finite) state = d.ifNotFinite(state)
      if (d.lossScale !== undefined) {
        gradsFinite = finite
        lossScale = d.lossScale(finite)
      }
    })
    return { state, gradsFinite, lossScale }
  }
  return { ...rest, finiteFlag: tf.stack(decisions.map((d) => d.flag)), settle }
}

/**
 * The objective multiplied by `weight` (a data-parallel rank's share of the global batch, so that
 * the ranks' gradients sum to the whole batch's). Outermost, around the whole step.
 */
export const weightLoss =
  (weight: number): StepTransformer =>
  (inner) =>
    weight === 1
      ? inner
      : {
          ...inner,
          forward: (model, batch, ctx: TrainStepContext) => {
            const f = inner.forward(model, batch, ctx)
            return { ...f, objective: tf.mul(f.objective, weight) as tf.Scalar }
          },
        }

/** Lightning's gradient clipping options. */
export interface ClippingOptions {
  /** Clip the gradients to this global norm (or, with `'value'`, each element to ±this); 0 or absent: none. */
  readonly gradientClipVal?: number | undefined
  readonly gradientClipAlgorithm?: 'norm' | 'value' | undefined
}

/**
 * The optimizer behind the trainer's gradient clipping, as one chain: `chain(clip, optimizer)`
 * (its state is the pair). `fit` builds the same one.
 */
export const clippedOptimizer = (optimizer: GradientTransform<StateTree>, o: ClippingOptions): GradientTransform<StateTree> => {
  const clip = o.gradientClipVal
  if (clip === undefined || clip === 0) return optimizer
  return chain(o.gradientClipAlgorithm === 'value' ? clipByValue(clip) : clipByGlobalNorm(clip), optimizer) as GradientTransform<StateTree>
}
