import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { liveEnv } from '../effects/env.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import { tidy } from '../backends/tidy.js'
import { averagedParams } from '../optim/ema.js'
import { disposeTree, type Params, specOf } from '../tree/tree.js'
import { type CheckpointReadError, loadCheckpoint, loadCheckpointFor } from './readCheckpoint.js'

/**
 * `loadParams`'s options: the file system to read through, and the parameters to check the checkpoint against.
 *
 * @example
 * const options: LoadParamsOptions = { fs: effects.nodeFileSystem, like: module.init(key(0)).params }
 * const weights = await loadParams('runs/mnist/checkpoints/best', options)()
 */
export interface LoadParamsOptions {
  readonly fs?: FileSystem
  /**
   * The parameters the loaded ones must match (e.g. `module.init(key(0)).params`): a checkpoint of
   * another structure is a `StructureError` listing every differing name and shape.
   */
  readonly like?: Params
  /**
   * Load the averaged weights of an `optim.ema({ evaluate: true })` in the checkpoint's optimizer
   * state instead of the trained ones, where there is one (what `validate`, `test` and `predict`
   * with `ckptPath` evaluate, as `fit` validates with them). Default false.
   */
  readonly averaged?: boolean
}

/**
 * Loads a checkpoint's model variables (`{ params, state }`) for inference or fine-tuning, from
 * a full or a weights-only checkpoint. The tensors are yours to dispose.
 *
 * @example
 * const loaded = await loadParams('runs/mnist-mlp/version_0/checkpoints/best', { like: module.init(key(0)).params })()
 * if (E.isLeft(loaded)) throw loaded.left // a CheckpointError, FileError or StructureError
 * const scores = await lastValueFrom(validate(module, loaded.right, { val }).pipe(evalMetrics()))
 */
export const loadParams = (path: string, options: LoadParamsOptions = {}): TE.TaskEither<CheckpointReadError | RxtrainError<'StructureError'>, Model> =>
  pipe(
    // With `like`, a checkpoint of another model is refused from its manifest, with the differences listed.
    options.like === undefined
      ? loadCheckpoint(options.fs ?? liveEnv.fs, path)
      : loadCheckpointFor(options.fs ?? liveEnv.fs, path, {
          spec: specOf(options.like),
          remedy: 'load it into the model that wrote it, or adapt the parameter tree (mapParams) before loading.',
        }),
    TE.map((loaded) => {
      const { params, state, optState, gradAccumulator } = loaded.state
      const averaged = options.averaged === true ? tidy(() => averagedParams(optState, params, true)) : undefined
      disposeTree([optState, gradAccumulator])
      if (averaged === undefined) return { params, state }
      disposeTree(params)
      return { params: averaged, state }
    }),
  )
