import * as tf from '@tensorflow/tfjs-core'
import type { LossScale, Precision } from '../backends/precision.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { GradientTransform } from '../optim/transform.js'
import { flattenParams, type Params, type StateTree, unflattenParams } from '../tree/tree.js'
import type { TrainState } from './events.js'
import type { Logs } from './logs.js'
import type { Module, ParamGroups } from './module.js'
import { baseStep, composeStep, type StepParts, trainState, type TrainStepContext, type Updated } from './stepParts.js'
import { skipNonFinite, withAccumulation, withPrecision } from './stepTransformers.js'

/** One group's step: the module called with `ctx.group`, differentiated against the group, updating it alone. */
type GroupParts<P extends Params, S extends Params, B> = StepParts<P, S, B> & { readonly wrt: (path: string, leaf: tf.Tensor) => boolean }

/** What a step answers (the exported step's `StepResult`, restated here: step.ts imports this file). */
export interface StepResult<P extends Params, S extends Params> extends Updated<P, S> {
  readonly loss: tf.Scalar
  readonly logs: Logs | undefined
}

/** The runner of one step from its parts (the exported step's `runStep`, gradient norms included). */
export type RunParts = <P extends Params, S extends Params, B>(parts: StepParts<P, S, B>, state: TrainState<P, S>, batch: B, ctx: TrainStepContext) => StepResult<P, S>

/** `params` with the `chosen` leaves taken from `updated` (the others stay the very same tensors). */
const takeGroup = <P extends Params>(params: P, updated: P, chosen: (path: string, leaf: tf.Tensor) => boolean): P => {
  const next = flattenParams(updated)
  return unflattenParams(params, flattenParams(params).map((l, i) => (chosen(l.path, l.tensor) ? (next[i]?.tensor as tf.Tensor) : l.tensor)))
}

/** The accumulation window of one group (a grouped step keeps one per group, under its label). */
const windowOf = (acc: Params | null | undefined, label: string): Params | null => {
  const w = acc?.[label]
  return w === undefined || w instanceof tf.Tensor ? null : w
}

/**
 * The step of a module with several losses (`Module.groups`), composed of one ordinary step per
 * group: each is the module's `trainingStep` called with `ctx.group`, under the run's precision
 * and accumulation, differentiated against its group's leaves, and updating only them (the
 * optimizer, an `optim.multiTransform`, gets `ctx.group`). The groups step in order, each on
 * the parameters and model state the previous one left, so one call is one pure step.
 *
 * Per group: its optimizer state (the multiTransform's entry), its accumulation window (the
 * train state's `gradAccumulator` holds `{ [group]: sum }`), its gradient clipping (the clip in
 * front of the multiTransform sees zeros outside the group) and its non-finite skip. One loss
 * scale is shared, as PyTorch's `GradScaler` with several optimizers: each group is skipped on
 * its own non-finite gradients, and the scale moves once, backing off if any group overflowed.
 * The reported loss is the sum of the groups' losses; the logs are merged in order.
 */
export const groupedStep = <P extends Params, S extends Params, B>(
  module: Pick<Module<P, S, B>, 'trainingStep'>,
  groups: ParamGroups,
  effective: GradientTransform<StateTree>,
  precision: Precision,
  k: number,
  run: RunParts,
): { readonly step: (state: TrainState<P, S>, batch: B, ctx: TrainStepContext) => StepResult<P, S>; readonly parts: StepParts<P, S, B> } => {
  const missing = groups.order.filter((g) => !(effective.groups ?? []).includes(g))
  if (groups.order.length === 0 || missing.length > 0)
    throw rxtrainError(
      'ConfigError',
      groups.order.length === 0 ? 'the module declares groups with an empty order' : `the module's groups ${missing.join(', ')} are not labels of its optimizer`,
      "make the module's optimizer an optim.multiTransform({ d: ..., g: ... }, groupOf) whose labels include every group in `groups.order`.",
      { field: 'groups', missing },
    )
  const perGroup = groups.order.map((label): GroupParts<P, S, B> => {
    const inGroup = (path: string, leaf: tf.Tensor) => groups.groupOf(path, leaf) === label
    // Its own update only: an inner fused step would not see the group.
    const { fusedStep: _, ...unfused } = effective
    const optimizer: GradientTransform<StateTree> = { ...unfused, update: (u, s, p, ctx) => effective.update(u, s, p, { ...ctx, group: label }) }
    const call = { trainingStep: (m: Parameters<typeof module.trainingStep>[0], b: B, ctx: TrainStepContext) => module.trainingStep(m, b, { ...ctx, group: label }) }
    const parts = composeStep(
      baseStep(call, optimizer),
      withPrecision(precision),
      withAccumulation(k),
      ...(precision.skipsNonFinite ? [skipNonFinite((s: LossScale, finite: boolean) => precision.nextScale(s, finite), precision.finite)] : []),
    )
    return { ...parts, wrt: inGroup }
  })
  /** Threads the groups' results: parameters (each group's leaves), model state, optimizer state, windows. */
  const thread = (
    state: TrainState<P, S>,
    each: (parts: GroupParts<P, S, B>, sub: TrainState<P, S>, label: string) => Updated<P, S> & { readonly loss?: tf.Scalar; readonly logs?: Logs | undefined },
  ) => {
    let params = state.params
    let modelState = state.state
    let optState = state.optState
    const windows: Record<string, Params> = {}
    const results = perGroup.map((parts, i) => {
      const label = groups.order[i] as string
      const r = each(parts, trainState(params, modelState, optState, windowOf(state.gradAccumulator, label)), label)
      params = takeGroup(params, r.state.params, parts.wrt)
      modelState = r.state.state
      optState = r.state.optState
      if (r.state.gradAccumulator != null) windows[label] = r.state.gradAccumulator
      return r
    })
    if (results.some((r) => r.finiteFlag !== undefined))
      throw rxtrainError(
        'ConfigError',
        "a module with several losses (groups) steps them one after the other, and a non-finite decision taken on the device ('16-mixed', applyIfFinite on a backend without host reads) must be read between them",
        "use precision: '32-true' and no applyIfFinite for this module on this backend, or train it on cpu or wasm.",
        { field: 'groups' },
      )
    const skipped = results.find((r) => !r.gradsFinite)
    const last = results[results.length - 1] as (typeof results)[number]
    return {
      results,
      state: trainState(params, modelState, optState, Object.keys(windows).length > 0 ? windows : null),
      gradsFinite: skipped === undefined,
      stepped: last.stepped,
      // Every group started from the same scale: the next one backs off if any overflowed.
      lossScale: (skipped ?? last).lossScale,
    }
  }
  const step = (state: TrainState<P, S>, batch: B, ctx: TrainStepContext): StepResult<P, S> => {
    const t = thread(state, (parts, sub) => run(parts, sub, batch, ctx))
    const losses = t.results.map((r) => r.loss as tf.Scalar)
    const loss = losses.length === 1 ? (losses[0] as tf.Scalar) : (tf.addN(losses) as tf.Scalar)
    const logs = Object.assign({}, ...t.results.map((r) => r.logs ?? {})) as Logs
    return { state: t.state, loss, logs, gradsFinite: t.gradsFinite, stepped: t.stepped, lossScale: t.lossScale }
  }
  const parts: StepParts<P, S, B> = {
    forward: () => {
      throw rxtrainError(
        'ConfigError',
        'a module with several losses (groups) steps its groups one after the other, which a separate forward pass (data-parallel ranks) cannot do',
        "train it with the default single-device strategy (no strategy: 'ddp'), or call the step itself.",
        { field: 'groups' },
      )
    },
    gradients: (grads) => grads,
    // The update half alone, on each group's window (an epoch that ends inside one: `closeWindow`).
    update: (state, g, ctx) =>
      thread(trainState(state.params, state.state, state.optState, null), (parts, sub, label) => {
        const grads = windowOf(g.grads, label)
        if (grads === null) return { state: sub, gradsFinite: true, stepped: false, lossScale: ctx.lossScale ?? precision.initScale() }
        return parts.update(sub, { grads, state: g.state }, { ...ctx, optimizerStep: true, lossScale: ctx.lossScale ?? precision.initScale() })
      }),
  }
  return { step, parts }
}
