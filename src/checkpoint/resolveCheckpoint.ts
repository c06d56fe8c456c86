/**
 * Which checkpoint directory a path means (the directory, a `last`/`best` pointer, or a folder
 * holding `last.json`). A path that leads to no checkpoint, or a pointer to one that was removed,
 * is a `CheckpointError` saying so.
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { MANIFEST_FILE } from './manifest.js'

/** A missing or unreadable checkpoint (what `CheckpointReadError` is, in `readCheckpoint.ts`). */
type ResolveError = RxtrainError<'CheckpointError' | 'FileError'>

const notFound = (path: string): ResolveError =>
  rxtrainError(
    'CheckpointError',
    `no checkpoint at ${path}`,
    'give a checkpoint directory (holding manifest.json), a pointer such as <dir>/last or <dir>/best, or a directory holding last.json.',
    { file: path },
  )

const readPointer = (fs: FileSystem, dir: string, file: string): TE.TaskEither<ResolveError, string> =>
  pipe(
    fs.readText(file),
    TE.mapLeft((e): ResolveError => e),
    TE.chainEitherK((text) => {
      try {
        const { checkpoint } = JSON.parse(text) as { checkpoint?: unknown }
        if (typeof checkpoint === 'string' && checkpoint !== '' && !checkpoint.includes('/')) return E.right(`${dir}/${checkpoint}`)
      } catch {
        // fall through
      }
      return E.left(rxtrainError('CheckpointError', `${file} is damaged: it does not name a checkpoint`, 'resume from a checkpoint directory instead.', { file }))
    }),
    // A pointer to a checkpoint that was removed (by hand, or by pruning in another run).
    TE.chain((target) =>
      pipe(
        TE.fromTask<boolean, ResolveError>(fs.exists(`${target}/${MANIFEST_FILE}`)),
        TE.chain((there) =>
          there
            ? TE.right(target)
            : TE.left(
                rxtrainError('CheckpointError', `${file} points at ${target}, which is not there (no ${MANIFEST_FILE})`, 'resume from a checkpoint directory that holds manifest.json; the one this pointer named was removed.', {
                  file: target,
                }),
              ),
        ),
      ),
    ),
  )

const dirname = (path: string): string => {
  const i = path.lastIndexOf('/')
  return i < 0 ? '.' : i === 0 ? '/' : path.slice(0, i)
}

/**
 * The checkpoint directory a path means: the directory itself (it holds manifest.json), a
 * pointer (`.../checkpoints/last` reads `.../checkpoints/last.json`), or a checkpoints directory
 * (its `last.json`).
 */
export const resolveCheckpoint = (fs: FileSystem, path: string): TE.TaskEither<ResolveError, string> => {
  const clean = path.replace(/\/+$/, '')
  return pipe(
    TE.fromTask<readonly [boolean, boolean, boolean], ResolveError>(async () => [
      await fs.exists(`${clean}/${MANIFEST_FILE}`)(),
      await fs.exists(`${clean}.json`)(),
      await fs.exists(`${clean}/last.json`)(),
    ]),
    TE.chain(([isCheckpoint, isPointer, holdsLast]) =>
      isCheckpoint
        ? TE.right(clean)
        : isPointer
          ? readPointer(fs, dirname(clean), `${clean}.json`)
          : holdsLast
            ? readPointer(fs, clean, `${clean}/last.json`)
            : TE.left(notFound(path)),
    ),
  )
}
