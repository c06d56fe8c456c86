import * as TE from 'fp-ts/lib/TaskEither.js'
import type { FileError, FileSystem } from '../../fileSystem.js'
import { rxtrainError } from '../../../errors/rxtrainError.js'

const refuse = (operation: string, path: string): FileError =>
  rxtrainError('FileError', `could not ${operation} ${path}: Node's file system is not available in a browser`, "use effects.browserFileSystem() in a page (the Origin Private File System; it is a page's default), or leave `fs` out of the run's environment.", { operation, path })

const refused =
  (op: string) =>
  (path: string): TE.TaskEither<FileError, never> =>
    TE.left(refuse(op, path))

/**
 * The browser bundle's `nodeFileSystem`: every operation fails, naming the file, so that code
 * written for Node says what went wrong in a page instead of failing on a missing module. Pages
 * use `effects.browserFileSystem()` (the default in a page's `liveEnv`).
 */
export const nodeFileSystem: FileSystem = {
  readFile: refused('read'),
  readText: refused('read'),
  writeFile: refused('write'),
  appendFile: refused('append to'),
  writeFileAtomic: refused('write'),
  mkdir: refused('create'),
  createDir: refused('create'),
  rename: (from) => TE.left(refuse('rename', from)),
  remove: refused('remove'),
  exists: () => async () => false,
  list: refused('list'),
}
