import type { Backend } from '../backends/backend.js'
import type { Precision } from '../backends/precision.js'
import type { DataModule } from '../data/dataModule.js'
import type { Clock } from '../effects/clock.js'
import type { Flow } from '../flow/flow.js'
import type { Signals } from '../effects/signals.js'
import type { GradientTransform } from '../optim/transform.js'
import type { TrainStrategy } from '../strategies/strategy.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { HookStates, TrainState } from './events.js'
import type { LoopState } from '../core/loopState.js'
import type { Module } from './module.js'
import type { ResolvedOptions } from './options.js'
import type { LoopPlan } from './plan.js'

/** A checkpoint to continue from: its tensors (now owned by the loop), its loop state, its hooks. */
export interface ResumePoint<P extends Params, S extends Params> {
  readonly from: string
  readonly state: TrainState<P, S>
  readonly loop: LoopState
  readonly hookStates: HookStates
  /** The precision policy the checkpoint was trained under (absent: the same as the run's). */
  readonly precision?: string
}

export interface FitProgramArgs<P extends Params, S extends Params, B> {
  readonly module: Module<P, S, B, unknown>
  readonly data: DataModule<B, unknown>
  readonly plan: LoopPlan
  readonly options: ResolvedOptions
  /** The module's optimizer, resolved against the plan, with the trainer's gradient clipping. */
  readonly optimizer: GradientTransform<StateTree>
  readonly backend: Backend
  readonly precision: Precision
  readonly clock: Clock
  /** The hooks placed after the run, and the event on its way to them. */
  readonly flow: Flow
  readonly signals: Signals
  /** How batches are computed (this thread, or data-parallel workers). */
  readonly strategy: TrainStrategy
  readonly resume?: ResumePoint<P, S>
}
