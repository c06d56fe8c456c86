import * as E from 'fp-ts/lib/Either.js'
import { Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import { type LoadedCheckpoint, loadCheckpoint } from '../checkpoint/readCheckpoint.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { key, split } from '../random/key.js'
import { disposeTree, type Params, specOf, structureDiff } from '../tree/tree.js'
import type { ResumePoint } from './fitLoop.js'
import type { Module } from './module.js'
import type { ResolvedOptions } from './options.js'

/** The checkpoint path `ckptPath` means: `'last'` and `'best'` live in `<defaultRootDir>/checkpoints`. */
export const checkpointPathOf = (options: ResolvedOptions): string | undefined => {
  const p = options.ckptPath
  return p === 'last' || p === 'best' ? `${options.defaultRootDir}/checkpoints/${p}` : p
}

/** Checks that a checkpoint can resume this module, or says why not (and releases it). */
const resumable = <P extends Params, S extends Params>(
  loaded: LoadedCheckpoint,
  module: Module<P, S, unknown, unknown>,
  backend: Backend,
  seed: number,
): E.Either<unknown, ResumePoint<P, S>> => {
  const fail = (e: unknown) => {
    disposeTree(loaded.state)
    return E.left(e)
  }
  if (loaded.weightsOnly || loaded.loop === null)
    return fail(
      rxtrainError('CheckpointError', `${loaded.path} holds weights only and cannot resume training`, 'resume from a full checkpoint, or load these weights with loadParams for inference or fine-tuning.', {
        file: loaded.path,
      }),
    )
  const expected = backend.scoped(() => specOf(module.init(split(key(seed), 4)[0] as ReturnType<typeof key>).params))
  const diff = structureDiff(expected, loaded.manifest.paramSpec)
  if (diff.length > 0)
    return fail(
      rxtrainError(
        'StructureError',
        `${loaded.path} was saved from a model of another structure: ${diff.slice(0, 10).join('; ')}${diff.length > 10 ? ` (+${diff.length - 10} more)` : ''}`,
        'resume with the module that wrote the checkpoint, or load matching weights with loadParams.',
        { file: loaded.path, diff },
      ),
    )
  return E.right({ from: loaded.path, state: loaded.state as ResumePoint<P, S>['state'], loop: loaded.loop, hookStates: loaded.hookStates })
}

/**
 * Loads the checkpoint to resume from, as an Observable that emits it once. If the run is
 * cancelled while the files are read, the tensors that arrive afterwards are released.
 */
export const resumeFrom = <P extends Params, S extends Params>(
  fs: FileSystem,
  path: string,
  module: Module<P, S, unknown, unknown>,
  backend: Backend,
  seed: number,
): Observable<ResumePoint<P, S>> =>
  new Observable<ResumePoint<P, S>>((subscriber) => {
    let listening = true
    loadCheckpoint(fs, path)().then(
      (loaded) => {
        if (E.isLeft(loaded)) {
          if (listening) subscriber.error(loaded.left)
          return
        }
        if (!listening) {
          disposeTree(loaded.right.state)
          return
        }
        const point = resumable(loaded.right, module, backend, seed)
        if (E.isLeft(point)) subscriber.error(point.left)
        else {
          subscriber.next(point.right)
          subscriber.complete()
        }
      },
      (e: unknown) => {
        if (listening) subscriber.error(e)
      },
    )
    return () => {
      listening = false
    }
  })
