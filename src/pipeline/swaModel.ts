import { firstValueFrom, isObservable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { Model } from '../core/model.js'
import type { TrainState } from '../core/trainState.js'
import type { BatchSource } from '../data/source.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { LayerContext } from '../nn/layer.js'
import { swaParams } from '../optim/swa.js'
import { foldIn, key } from '../random/key.js'
import { cloneTree, disposeTree, releaseGeneration } from '../tree/tree.js'
import type { Params } from '../tree/tree.js'
import type { Module, StepContext } from './module.js'

/**
 * The model Lightning's `StochasticWeightAveraging` leaves at the end of training: the averaged
 * weights (`optim.swaParams` of the run's final state, whose optimizer is a
 * `stochasticWeightAveraging`), with the model state (batch-norm running statistics) recomputed
 * for them by one pass over `train` in training mode, each `batchNorm` taking the plain mean over
 * the pass (Lightning's extra epoch; PyTorch's `update_bn`). The pass runs the module's
 * `trainingStep` (its loss is discarded, nothing is differentiated), in the source's natural
 * order. A model without state needs no pass and gets none. The result is new: the caller
 * disposes it; `state` is left as it is.
 *
 * @example
 * // `state`: the run's final state (the fitEnd event's, or a loaded checkpoint's)
 * const averaged = await swaModel(module, train, state, backend)   // evaluate or export it
 */
export const swaModel = async <P extends Params, S extends Params, B>(
  module: Module<P, S, B>,
  train: BatchSource<B>,
  state: TrainState<P, S>,
  backend: Backend,
): Promise<Model<P, S>> => {
  const params = backend.scoped(() => swaParams(state.optState, state.params))
  if (params === undefined)
    throw rxtrainError(
      'ConfigError',
      'swaModel: the run has no averaged weights',
      "train with stochasticWeightAveraging(...) as the module's optimizer, for at least swaEpochStart + 1 epochs.",
      {},
    )
  let modelState: S = backend.scoped(() => cloneTree(state.state))
  if (Object.keys(state.state).length === 0) return { params, state: modelState }
  const iterator = train.open({ key: key(0), noShuffle: true })
  try {
    for (let t = 1; ; t++) {
      const pulled = iterator.next()
      const result = isObservable(pulled) ? await firstValueFrom(pulled) : pulled
      if (result.done === true) break
      const batch = result.value
      const ctx: StepContext & LayerContext = { stage: 'train', training: true, key: foldIn(key(0), t), epoch: 0, batchIdx: t - 1, globalStep: 0, batchNormMomentum: 1 / t }
      try {
        const next = backend.scoped(() => {
          const out = module.trainingStep({ params, state: modelState }, batch, ctx)
          return out.state ?? modelState
        })
        releaseGeneration(modelState, next)
        modelState = next
      } finally {
        backend.dispose(batch)
      }
    }
  } catch (error) {
    disposeTree([params, modelState])
    throw error
  } finally {
    iterator.close()
  }
  return { params, state: modelState }
}
