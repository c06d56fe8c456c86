import { defer, map, type Observable, of } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import { loadParams } from '../checkpoint/loadParams.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { orThrow } from '../errors/orThrow.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import type { Params } from '../tree/tree.js'
import type { ResolvedOptions } from './options.js'
import { checkpointPathOf } from './resumeFrom.js'

/** The variables an evaluation runs with, and whether the run owns them (loaded from a checkpoint: it releases them at its end). */
export interface EvaluatedModel<P extends Params, S extends Params> {
  readonly model: Model<P, S>
  readonly owned: boolean
}

/**
 * The model `validate`, `test` and `predict` evaluate: the given variables, or, with `ckptPath`
 * (`'best'`, `'last'` or a path, as Lightning's `trainer.test(ckpt_path='best')`), the
 * checkpoint's, checked against the given variables' structure when there are any.
 */
export const evaluatedModel = <P extends Params, S extends Params>(
  options: ResolvedOptions,
  given: Model<P, S> | undefined,
  fs: FileSystem,
  backend: Backend,
): Observable<EvaluatedModel<P, S>> => {
  const path = checkpointPathOf(options)
  if (path === undefined) {
    if (given !== undefined) return of({ model: given, owned: false })
    throw rxtrainError('ConfigError', 'there is nothing to evaluate: no model and no ckptPath', "pass the model's variables, or ckptPath: 'best' | 'last' | a checkpoint path.", {
      field: 'ckptPath',
    })
  }
  return defer(() => {
    backend.activate()
    // A checkpoint with an `optim.ema({ evaluate: true })` is evaluated with its averaged weights, as fit validated it.
    return orThrow(loadParams(path, { fs, averaged: true, ...(given !== undefined && { like: given.params }) }))
  }).pipe(map((model) => ({ model: model as Model<P, S>, owned: true })))
}
