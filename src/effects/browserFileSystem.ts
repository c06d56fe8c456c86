import * as TE from 'fp-ts/lib/TaskEither.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { FileError, FileSystem } from './fileSystem.js'
import { indexedDbAvailable, indexedDbFileSystem } from './indexedDbFileSystem.js'
import { opfsAvailable, opfsFileSystem } from './opfsFileSystem.js'

/** Whether the OPFS answers here: some browsers have the API but refuse it (Firefox's private windows, a sandboxed frame). */
const opfsWorks = async (): Promise<boolean> => {
  if (!opfsAvailable()) return false
  try {
    await globalThis.navigator.storage.getDirectory()
    return true
  } catch {
    return false
  }
}

/**
 * The page's file system: the Origin Private File System where the browser offers it (Chromium,
 * Firefox, recent Safari), else IndexedDB, decided on first use. What a run in a page writes
 * (checkpoints, CSV/JSONL logs, TensorBoard files) stays in the origin's storage across reloads,
 * so a reload can resume from `last`; `effects.downloadZip` gets it out. `root` (OPFS) puts
 * everything under a folder, `database` (IndexedDB) names the database. The two stores do not
 * see each other's files: a page keeps the same browser, so it keeps the same store.
 *
 * @example
 * const fs = effects.browserFileSystem()
 * fit(module, { train, val }, { maxEpochs: 3, defaultRootDir: 'runs/mnist' }, { fs }).pipe(checkpoint({ saveLast: true })).subscribe()
 */
export const browserFileSystem = (options: { readonly root?: string; readonly database?: string } = {}): FileSystem => {
  let chosen: Promise<FileSystem | undefined> | undefined
  const pick = (): Promise<FileSystem | undefined> => {
    chosen ??= opfsWorks().then((opfs) => {
      if (opfs) return opfsFileSystem(options.root === undefined ? {} : { root: options.root })
      if (indexedDbAvailable()) return indexedDbFileSystem(options.database === undefined ? {} : { database: options.database })
      return undefined
    })
    return chosen
  }
  const none = (path: string): FileError =>
    rxtrainError(
      'FileError',
      `could not use ${path}: this page has neither the Origin Private File System nor IndexedDB`,
      'run in a browser page over https or http://localhost (storage needs a secure context), outside a sandboxed frame; or pass a memoryFileSystem() as the run\'s fs.',
      { path },
    )
  const via =
    <A>(path: string, f: (fs: FileSystem) => TE.TaskEither<FileError, A>): TE.TaskEither<FileError, A> =>
    async () => {
      const fs = await pick()
      return fs === undefined ? TE.left<FileError, A>(none(path))() : f(fs)()
    }
  return {
    readFile: (path) => via(path, (fs) => fs.readFile(path)),
    readText: (path) => via(path, (fs) => fs.readText(path)),
    writeFile: (path, data) => via(path, (fs) => fs.writeFile(path, data)),
    writeFileAtomic: (path, data) => via(path, (fs) => fs.writeFileAtomic(path, data)),
    appendFile: (path, data) => via(path, (fs) => fs.appendFile(path, data)),
    mkdir: (path) => via(path, (fs) => fs.mkdir(path)),
    createDir: (path) => via(path, (fs) => fs.createDir(path)),
    rename: (from, to) => via(from, (fs) => fs.rename(from, to)),
    remove: (path) => via(path, (fs) => fs.remove(path)),
    exists: (path) => async () => {
      const fs = await pick()
      return fs === undefined ? false : fs.exists(path)()
    },
    list: (dir) => via(dir, (fs) => fs.list(dir)),
  }
}
