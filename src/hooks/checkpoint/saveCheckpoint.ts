import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type CheckpointContent, encodeCheckpointAsync, writeCheckpoint, writePointer } from '../../checkpoint/writeCheckpoint.js'
import type { FileError, FileSystem } from '../../effects/fileSystem.js'
import { isRxtrainError, messageOf, type RxtrainError, rxtrainError } from '../../errors/rxtrainError.js'

/** What else a save does besides writing the checkpoint. */
export interface SaveActions {
  readonly pointLast: boolean
  readonly pointBest: boolean
  /** Checkpoints to delete once the new one is in place. */
  readonly prune: readonly string[]
}

/**
 * Saves one checkpoint `dir/name`: reads the state (asynchronously, so any backend works), writes
 * it atomically, points `last` and `best` at it if asked, then deletes the pruned ones (see
 * `removeCheckpoint`). A crash between these steps leaves checkpoints that the hook no longer
 * counts; the next run resumed from it removes them (see `reconcileCheckpointDir`).
 */
export const saveCheckpoint = (
  fs: FileSystem,
  dir: string,
  name: string,
  content: CheckpointContent,
  actions: SaveActions,
): TE.TaskEither<RxtrainError | FileError, unknown> =>
  pipe(
    TE.tryCatch(
      () => encodeCheckpointAsync(content),
      (cause) => (isRxtrainError(cause) ? cause : rxtrainError('CheckpointError', `could not read the state to save: ${messageOf(cause)}`, 'keep the state alive until the checkpoint is written.', {})),
    ),
    TE.chainW((files) => writeCheckpoint(fs, dir, name, files)),
    // The two pointers name the same checkpoint, so they are written at once.
    TE.chainW(() =>
      TE.sequenceArray([
        ...(actions.pointLast ? [writePointer(fs, dir, 'last', name)] : []),
        ...(actions.pointBest ? [writePointer(fs, dir, 'best', name)] : []),
      ]),
    ),
    TE.chainW(() => TE.sequenceSeqArray(actions.prune.map((n) => removeCheckpoint(fs, dir, n)))),
  )

/**
 * Deletes checkpoint `dir/name` (absent is fine). It is hidden first (renamed `.tmp-del-*`), so a
 * crash mid-delete leaves only a leftover that readers ignore and the next run removes.
 */
export const removeCheckpoint = (fs: FileSystem, dir: string, name: string): TE.TaskEither<FileError, void> =>
  pipe(
    TE.fromTask<boolean, FileError>(fs.exists(`${dir}/${name}`)),
    TE.chain((present) => (present ? fs.rename(`${dir}/${name}`, `${dir}/.tmp-del-${name}`) : TE.right(undefined))),
    TE.chain(() => fs.remove(`${dir}/.tmp-del-${name}`)),
  )
