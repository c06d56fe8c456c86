import { initialLoopState, type LoopState } from '../core/loopState.js'
import type { Key } from '../random/key.js'
import type { Params } from '../tree/tree.js'
import type { FitStart, TrainState } from './events.js'
import type { FitProgramArgs } from './fitProgramArgs.js'

/**
 * The train state and loop state a run starts from: the module's initial variables (rounded from
 * the start under a '-true' half policy) with a fresh loop, or the resume point's. A run resumed
 * under another precision policy starts its precision afresh (its rounding, its loss scale).
 * Releases what it made and does not return.
 */
export const startingState = <P extends Params, S extends Params, B>(
  { module, optimizer, precision, backend, resume }: Pick<FitProgramArgs<P, S, B>, 'module' | 'optimizer' | 'precision' | 'backend' | 'resume'>,
  initKey: Key,
  seed: number,
): { readonly train: TrainState<P, S>; readonly loop: LoopState } => {
  const given: TrainState<P, S> =
    resume?.state ??
    backend.scoped(() => {
      const model = precision.storeState(module.init(initKey))
      return { params: model.params, state: model.state, optState: precision.storeState(optimizer.init(model.params)), gradAccumulator: null }
    })
  const samePrecision = resume?.precision === undefined || resume.precision === precision.name
  const train = samePrecision ? given : backend.scoped(() => precision.storeState(given))
  if (train !== given) backend.release(given, train)
  const loop = resume === undefined ? initialLoopState(seed, precision.initScale()) : samePrecision ? resume.loop : { ...resume.loop, lossScale: precision.initScale() }
  return { train, loop }
}

/** The run's `fitStart` event: its plan, options, backend, optimizer and starting state, and what it resumed from. */
export const fitStartEvent = <P extends Params, S extends Params, B>(args: FitProgramArgs<P, S, B>, time: number, state: TrainState<P, S>, loop: LoopState): FitStart => {
  const { backend, resume, module } = args
  return {
    type: 'fitStart',
    time,
    plan: args.plan,
    options: args.options,
    backend: backend.description,
    accelerator: backend.choice ?? { requested: 'env', backend: backend.name, description: backend.description, skipped: [] },
    optimizer: args.optimizer,
    state,
    loop,
    resumed: resume === undefined ? undefined : { from: resume.from, loop: resume.loop, hookStates: resume.hookStates },
    ...(module.hparams !== undefined && { hparams: module.hparams }),
  }
}
