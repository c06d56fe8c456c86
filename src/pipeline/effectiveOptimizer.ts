import { chain } from '../optim/chain.js'
import { clipByGlobalNorm, clipByValue } from '../optim/clip.js'
import type { GradientTransform } from '../optim/transform.js'
import type { Params, StateTree } from '../tree/tree.js'
import type { Module } from './module.js'
import type { ResolvedOptions } from './options.js'
import type { LoopPlan } from './plan.js'

/** The trainer options the optimizer depends on (plain data: data-parallel workers rebuild it). */
export type ClipOptions = Pick<ResolvedOptions, 'gradientClipVal' | 'gradientClipAlgorithm'>

/** The module's optimizer for this plan, behind the trainer's gradient clipping if any. */
export const effectiveOptimizer = (optimizer: Module<Params, Params, unknown>['optimizer'], options: ClipOptions, plan: LoopPlan): GradientTransform<StateTree> => {
  const base = typeof optimizer === 'function' ? optimizer(plan) : optimizer
  const clip = options.gradientClipVal
  if (clip === undefined || clip === 0) return base
  return chain(options.gradientClipAlgorithm === 'value' ? clipByValue(clip) : clipByGlobalNorm(clip), base) as GradientTransform<StateTree>
}
