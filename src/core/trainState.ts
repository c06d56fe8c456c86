import type { Params, StateTree } from '../tree/params.js'
import type { Model } from './model.js'

/**
 * The tensors of a run at one moment: the model's variables and the optimizer's memory.
 * In events it is borrowed: valid until the next event. A hook that uses it asynchronously
 * copies it (`cloneTree`), or does its work as a hook effect, which the loop waits for.
 *
 * @example
 * const step = trainStep(module, optim.adam({ lr: 1e-3 }))
 * const initial: TrainState = step.init(module.init(key(0)))
 * console.log(countParams(initial.params), initial.gradAccumulator) // 101770 null (no accumulation window open)
 */
export interface TrainState<P extends Params = Params, S extends Params = Params> extends Model<P, S> {
  readonly optState: StateTree
  /** Gradients summed so far in an unfinished accumulation window (`accumulateGradBatches`); absent or null outside one. */
  readonly gradAccumulator?: Params | null
}
