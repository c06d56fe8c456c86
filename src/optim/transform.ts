import type { OptimizerKernels } from '../backends/backend.js'
import type { FiniteCheck } from '../backends/finite.js'
import type { Params, StateTree } from '../tree/tree.js'

/**
 * What the run's backend offers an update: its fused kernels (Adam's) and its finiteness check
 * (`applyIfFinite`). A `Backend` record is one, so the loop passes its backend. Without one (a
 * test calling `update` itself), every transform computes op by op, with the same numbers, and
 * checks finiteness with a synchronous read.
 *
 * @example
 * const optimizer = optim.adam({ lr: 1e-3 })
 * const context: optim.UpdateContext = backend   // a Backend is one
 * const [updates, next] = tidy(() => optimizer.update(grads, optimizer.init(params), params, context))
 */
export interface UpdateContext {
  readonly name?: string
  readonly kernels?: OptimizerKernels
  readonly finite?: FiniteCheck
  /**
   * The parameter group a step updates (a training step with several losses: see `Module.groups`):
   * an `optim.multiTransform` with this label updates that group alone (zero updates for the other
   * leaves, their groups' states untouched). Absent: every group updates.
   */
  readonly group?: string
}

/**
 * A gradient transformation (the Optax design): a pair of pure functions. `init` builds the
 * transformation's memory from the parameters; `update` maps incoming updates (at first, the
 * gradients) to outgoing updates and the next memory. An optimizer is a chain of them; the step
 * applies the final updates with `applyUpdates(params, updates)` (i.e. `params + updates`, so
 * a descent step's updates are already negated and scaled by the learning rate).
 *
 * Ownership: `update` allocates new tensors and never disposes its inputs. Its result may alias
 * (momentum returns its new trace as both update and state); the loop releases the previous
 * generation by identity. Call it inside `tidy` (rxtrain's: its state is not a `tf.TensorContainer`) to release intermediates.
 *
 * Counters (steps taken) are plain numbers, so schedules are ordinary `(step) => number`
 * functions and states serialise to checkpoints as they are.
 *
 * @example
 * const signDescent: GradientTransform<null> = {
 *   init: () => null,
 *   update: (updates, state) => [mapParams(updates, (g) => tf.sign(g)), state],
 * }
 * const optimizer = optim.chain(signDescent, optim.scaleByLearningRate(1e-3))
 */
export interface GradientTransform<S extends StateTree = StateTree> {
  init(params: Params): S
  /** `ctx`: the run's backend (see `UpdateContext`); a transform that wraps others hands it on. */
  update(updates: Params, state: S, params: Params, ctx?: UpdateContext): readonly [Params, S]
  /**
   * Reacts to epoch-level metrics (e.g. `val/loss`), for transforms driven by a monitored value
   * such as `reduceOnPlateau`. The loop calls it once per epoch, at the epoch's end, with the
   * epoch's training values and the latest validation values (as Lightning steps plateau
   * schedulers), before the `epochEnd` event.
   */
  observe?(state: S, metrics: Readonly<Record<string, number>>): S
  /** Current hyperparameters (e.g. `{ lr: 0.001 }`), for logging and learning-rate monitors. */
  hyperparams?(state: S): Readonly<Record<string, number>>
  /**
   * True when the transform itself skips non-finite updates (`applyIfFinite`), in which case the
   * loop keeps training through a non-finite loss instead of stopping with an error.
   */
  readonly guardsNonFinite?: boolean
  /** The labels `ctx.group` can select (an `optim.multiTransform`'s, forwarded by the transforms that wrap one). */
  readonly groups?: readonly string[]
  /**
   * The update and its application in one: `[applyUpdates(params, update(...)[0]), update(...)[1]]`,
   * bitwise, computed by a fused kernel of the run's backend (`ctx.kernels`) in one pass per leaf;
   * undefined where there is none (the loop then calls `update` and `applyUpdates`). `optim.adam`
   * has one (PyTorch's `fused=True` also updates the parameters in its kernel). A transform that
   * wraps another and changes its update must not pass the inner one's on.
   */
  fusedStep?(updates: Params, state: S, params: Params, ctx?: UpdateContext): readonly [Params, S] | undefined
}

/**
 * The state type of a transform.
 *
 * @example
 * const optimizer = optim.adam({ lr: 1e-3 })
 * const optState: optim.StateOf<typeof optimizer> = optimizer.init(params) // readonly [AdamState, CountState]
 */
export type StateOf<T> = T extends GradientTransform<infer S> ? S : never

/**
 * A learning-rate (or any hyperparameter) schedule: a pure function of the optimizer step count.
 *
 * @example
 * const inverseSqrt: Schedule = (step) => 1e-3 / Math.sqrt(Math.max(step, 1))
 * const optimizer = optim.adam({ lr: inverseSqrt })
 */
export type Schedule = (step: number) => number

/**
 * A constant or a schedule.
 *
 * @example
 * const lr: optim.ScalarOrSchedule = optim.exponentialDecay({ init: 0.1, decayRate: 0.5, transitionSteps: 1000 })
 * const optimizer = optim.sgd({ lr, momentum: 0.9 }) // `lr: 0.1` works the same way
 */
export type ScalarOrSchedule = number | Schedule

/**
 * Lifts a constant to the schedule that returns it at every step; a schedule passes through.
 * Builders that accept either (`scaleByLearningRate`, `sgd`, `adam`, ...) call this once.
 *
 * @example
 * const lr = optim.asSchedule(3e-4)
 * lr(0) === lr(5000) // true: 3e-4 at every step
 * const decay = optim.asSchedule(optim.cosineDecay({ init: 3e-4, decaySteps: 5000 })) // passes through
 */
export const asSchedule = (v: ScalarOrSchedule): Schedule => (typeof v === 'number' ? () => v : v)

/**
 * `transform` with `ctx` handed to every `update` that is not given one: how a loop gives an
 * optimizer its backend once, e.g. `withUpdateContext(module.optimizer, backend)`.
 *
 * @example
 * const optimizer = optim.withUpdateContext(optim.adam({ lr: 1e-3 }), backend)   // Adam runs backend.kernels.adam
 */
export const withUpdateContext = <S extends StateTree>(transform: GradientTransform<S>, ctx: UpdateContext): GradientTransform<S> => {
  const { fusedStep } = transform
  const context = (given: UpdateContext | undefined): UpdateContext => (given === undefined ? ctx : { ...ctx, ...given })
  return {
    ...transform,
    update: (updates, state, params, given) => transform.update(updates, state, params, context(given)),
    ...(fusedStep !== undefined && { fusedStep: (updates: Params, state: S, params: Params, given?: UpdateContext) => fusedStep.call(transform, updates, state, params, context(given)) }),
  }
}
