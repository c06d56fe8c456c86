import type * as tf from '@tensorflow/tfjs-core'
import type { Model } from '../nn/layer.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Key } from '../random/key.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { Logs } from './logs.js'
import type { LoopPlan } from './plan.js'

/**
 * Which part of a run a step belongs to: `'train'`, `'sanity'` (the validation batches run before
 * training), `'val'`, `'test'` or `'predict'` (`ctx.stage`).
 *
 * @example
 * // the sanity check runs validationStep: log it under the same names as validation
 * const prefix = (stage: Stage): string => (stage === 'sanity' ? 'val' : stage)
 * const logs: Logs = { [`${prefix(ctx.stage)}/loss`]: nn.softmaxCrossEntropy(logits, labels) }
 */
export type Stage = 'train' | 'sanity' | 'val' | 'test' | 'predict'

/**
 * What a step knows about its call: the stage and position, and a key for its randomness.
 * It is also a `LayerContext` (`training` and `key`), so it can be handed straight to layers.
 * There is no trainer object to reach into.
 *
 * @example
 * const net = nn.sequential(nn.dense({ units: 128, activation: 'relu' }), nn.dropout(0.2), nn.dense({ units: 10 }))
 * const forward = (m: Model<Params, Params>, x: tf.Tensor, ctx: StepContext): tf.Tensor =>
 *   net.apply(m, x, ctx).y // dropout is active only when ctx.training
 */
export interface StepContext {
  readonly stage: Stage
  /** True only in training steps (dropout active, batch norm updates its statistics). */
  readonly training: boolean
  readonly key: Key
  readonly epoch: number
  readonly batchIdx: number
  /** Optimizer steps taken so far. */
  readonly globalStep: number
  /** The precision policy's cast for matmul and convolution inputs (`nn.computeInput` applies it). */
  readonly castCompute?: (x: tf.Tensor) => tf.Tensor
  /**
   * In a module with several losses (`Module.groups`), the parameter group whose loss this
   * training-step call returns (Lightning 1.x's `optimizer_idx`); absent otherwise.
   */
  readonly group?: string
}

/**
 * Several losses per training step (Lightning's several optimizers, e.g. a GAN's discriminator
 * and generator): `order` names the parameter groups in the order they step, `groupOf` the group
 * of every parameter leaf by its path. `trainingStep` is then called once per group, in order,
 * with `ctx.group` set, and returns that group's loss; each loss is differentiated against its
 * group's leaves only and updates them alone, so the second call sees the parameters the first
 * one updated, all within one pure step. The module's optimizer must be an
 * `optim.multiTransform` over the same labels (each group's own optimizer and state).
 *
 * @example
 * const groupOf = (path: string): 'd' | 'g' => (path.startsWith('disc/') ? 'd' : 'g')
 * const groups: ParamGroups = { order: ['d', 'g'], groupOf }
 * const optimizer = optim.multiTransform({ d: optim.adam({ lr: 2e-4 }), g: optim.adam({ lr: 2e-4 }) }, groupOf)
 */
export interface ParamGroups {
  readonly order: readonly string[]
  readonly groupOf: (path: string, leaf: tf.Tensor) => string
}

/** A module's optimizer: a transform, or a function of the loop plan that returns one. */
export type OptimizerSpec = GradientTransform<StateTree> | ((plan: LoopPlan) => GradientTransform<StateTree>)

/**
 * What a training step returns.
 *
 * @example
 * const net = nn.dense({ units: 10 })
 * const trainingStep = (m: Model<nn.DenseParams, nn.Empty>, { x, y }: Batch, ctx: StepContext): TrainStepOutput<nn.Empty> => {
 *   const loss = nn.softmaxCrossEntropy(net.apply(m, x, ctx).y, y)
 *   return { loss, logs: { 'train/loss': log(loss, { progBar: true }) } }
 * }
 */
export interface TrainStepOutput<S extends Params> {
  /** The scalar to minimise. */
  readonly loss: tf.Scalar
  /** Named values to log (per step by default). */
  readonly logs?: Logs
  /** The next non-trainable state (batch-norm statistics); omit when it does not change. */
  readonly state?: S
}

/**
 * A model as pure functions (Lightning's `LightningModule`, without the mutable object). Each
 * step receives the variables explicitly and returns values; it must not dispose what it was
 * given. The optimizer is a `GradientTransform` or, like `configure_optimizers`, a function of the
 * loop plan (e.g. to size a one-cycle schedule with `plan.estimatedSteppingBatches`).
 *
 * @example
 * const net = nn.sequential(nn.dense({ units: 128, activation: 'relu' }), nn.dense({ units: 10 }))
 * const classifier = defineModule({
 *   init: (key) => net.init(key, [784]),
 *   trainingStep: (model, { x, y }, ctx) => {
 *     const logits = net.apply(model, x, ctx).y
 *     const loss = nn.softmaxCrossEntropy(logits, y)
 *     return { loss, logs: { 'train/loss': loss } }
 *   },
 *   validationStep: (model, { x, y }, ctx) => ({ 'val/acc': metrics.accuracy(net.apply(model, x, ctx).y, y) }),
 *   optimizer: optim.adam({ lr: 1e-3 }),
 * })
 */
export interface Module<P extends Params, S extends Params, B, PB = B, O extends OptimizerSpec = OptimizerSpec> {
  init(key: Key): Model<P, S>
  trainingStep(model: Model<P, S>, batch: B, ctx: StepContext): TrainStepOutput<S>
  validationStep?(model: Model<P, S>, batch: B, ctx: StepContext): Logs
  testStep?(model: Model<P, S>, batch: B, ctx: StepContext): Logs
  predictStep?(model: Model<P, S>, batch: PB, ctx: StepContext): tf.Tensor
  readonly optimizer: O
  /** Several losses per step, each updating its own parameter group, in order (see `ParamGroups`). */
  readonly groups?: ParamGroups
  /**
   * Where this module can be imported from (`{ url: import.meta.url, exportName: 'mlp' }`):
   * data-parallel workers (`strategy: 'ddp'`) run in threads of their own and import it there.
   */
  readonly source?: { readonly url: string; readonly exportName: string }
  /**
   * The hyperparameters this module was built with, as JSON values (Lightning's
   * `save_hyperparameters`): saved in every checkpoint, under `model` in `hparams.yaml` and as
   * `model.*` in TensorBoard's HParams tab. `defineModuleFactory` sets them from its codec, so a
   * checkpoint alone can rebuild the module (`factory.loadFromCheckpoint(dir)`).
   */
  readonly hparams?: Readonly<Record<string, unknown>>
}

/**
 * Identity, for type inference of a module literal (it keeps the optimizer's own type).
 *
 * @example
 * const net = nn.sequential(nn.dense({ units: 64, activation: 'relu' }), nn.dense({ units: 10 }))
 * const mlp = defineModule({
 *   init: (key) => net.init(key, [784]),
 *   trainingStep: (m, { x, y }: Batch, ctx) => ({ loss: nn.softmaxCrossEntropy(net.apply(m, x, ctx).y, y) }),
 *   optimizer: optim.sgd({ lr: 0.1, momentum: 0.9 }),
 * })
 * fit(mlp, { train }, { maxEpochs: 2 }).subscribe()
 */
export const defineModule = <P extends Params, S extends Params, B, PB = B, O extends OptimizerSpec = OptimizerSpec>(
  module: Module<P, S, B, PB, O>,
): Module<P, S, B, PB, O> => module
