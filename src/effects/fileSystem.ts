import type * as T from 'fp-ts/lib/Task.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'

/**
 * What a file operation fails with: an `RxtrainError` tagged `'FileError'`, naming the operation and the path.
 *
 * @example
 * const read = await effects.nodeFileSystem.readText('runs/notes.txt')()
 * if (E.isLeft(read)) {
 *   const err: effects.FileError = read.left
 *   console.error(err.details.path, err.problem)   // 'runs/notes.txt', 'could not read runs/notes.txt: ENOENT ...'
 * }
 */
export type FileError = RxtrainError<'FileError'>

/**
 * The file capability. Everything rxtrain reads or writes goes through one of these records, so
 * a test can run a pipeline against `memoryFileSystem()` and inspect what it wrote.
 * Paths are plain strings; directories are created on demand by `mkdir` (recursive).
 *
 * @example
 * const fs: FileSystem = effects.memoryFileSystem()
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, { fs }).pipe(checkpoint({ dir: 'ckpt' })))
 * await fs.list('ckpt')()   // Right(['best.json', 'epoch=0-step=468']): written to memory
 */
export interface FileSystem {
  readFile(path: string): TE.TaskEither<FileError, Uint8Array>
  readText(path: string): TE.TaskEither<FileError, string>
  /** Replaces the file's contents (creating it). Not atomic: see `writeFileAtomic`. */
  writeFile(path: string, data: Uint8Array | string): TE.TaskEither<FileError, void>
  appendFile(path: string, data: Uint8Array | string): TE.TaskEither<FileError, void>
  /**
   * Writes to a temporary sibling, flushes it to disk, then renames it over `path`, so a crash
   * leaves either the old file or the new one, never a torn one.
   */
  writeFileAtomic(path: string, data: Uint8Array | string): TE.TaskEither<FileError, void>
  mkdir(path: string): TE.TaskEither<FileError, void>
  /**
   * Creates one directory whose parent exists, atomically: `true` when this call created it,
   * `false` when it was already there (made by anyone, this process or another). What lets two
   * runs started at once claim different folders.
   */
  createDir(path: string): TE.TaskEither<FileError, boolean>
  rename(from: string, to: string): TE.TaskEither<FileError, void>
  /** Removes a file or a directory tree; absent paths are fine. */
  remove(path: string): TE.TaskEither<FileError, void>
  exists(path: string): T.Task<boolean>
  /** Names (not paths) of a directory's entries, sorted. */
  list(dir: string): TE.TaskEither<FileError, string[]>
}

/** What to do about a failed file operation, by the system's error code. */
const remedyFor = (code: string | undefined): string => {
  switch (code) {
    case 'EROFS':
      return 'the file system there is read-only: give a folder on a writable one (defaultRootDir, the hook\'s dir), or mount it read-write.'
    case 'EACCES':
    case 'EPERM':
      return 'this user may not write there: give a folder it owns (defaultRootDir, the hook\'s dir), or change the folder\'s permissions.'
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk (or quota) is full: free space, or write elsewhere.'
    case 'ENOENT':
      return 'check that the path exists (and that its folder was not removed while the run wrote to it).'
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file stands where a folder should be (or the other way round): remove it, or choose another path.'
    default:
      return 'check that the path exists and is writable, and that the disk has room.'
  }
}

/**
 * A `FileError` for an operation on a path, keeping the cause's message; the system's error code
 * (`EROFS`, `EACCES`, `ENOENT`, ...), when the cause has one, is in `details.code` and picks the remedy.
 */
export const fileError = (operation: string, path: string, cause: unknown): FileError => {
  const code = (cause as { code?: unknown } | null)?.code
  const known = typeof code === 'string' ? code : undefined
  return rxtrainError('FileError', `could not ${operation} ${path}: ${messageOf(cause)}`, remedyFor(known), {
    operation,
    path,
    ...(known !== undefined && { code: known }),
  })
}
