import { promises as fsp } from 'node:fs'
import * as nodePath from 'node:path'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type FileError, type FileSystem, fileError } from '../../fileSystem.js'

const attempt = <A>(operation: string, path: string, f: () => Promise<A>): TE.TaskEither<FileError, A> =>
  TE.tryCatch(f, (e) => fileError(operation, path, e))

const bytes = (data: Uint8Array | string): Uint8Array | string => data

let tempCounter = 0

const codeOf = (e: unknown): unknown => (e as NodeJS.ErrnoException | null)?.code

/**
 * `mkdir -p`, one level at a time. Node's recursive `mkdir` reports a failure it cannot place as
 * the `ENOENT` of a `stat` of the folder it could not make: a read-only file system (`EROFS`)
 * came out as "no such file or directory", and under `/proc` it never returns. Here each level
 * is made by a plain `mkdir`, so the error is the system's own (`EROFS`, `EACCES`, `ENOTDIR`) for
 * the folder that could not be made; a parent is made only when the system says it is missing.
 */
const makeDirs = async (path: string): Promise<void> => {
  const made = (e: unknown): Promise<void> =>
    codeOf(e) === 'EEXIST'
      ? fsp.stat(path).then((s) => {
          if (!s.isDirectory()) throw e
        })
      : Promise.reject(e)
  try {
    return await fsp.mkdir(path)
  } catch (e) {
    const parent = nodePath.dirname(path)
    if (codeOf(e) !== 'ENOENT' || parent === path) return made(e)
    await makeDirs(parent)
  }
  // The parent exists now: a second ENOENT is the system's answer, not a missing parent.
  return fsp.mkdir(path).catch(made)
}

/**
 * The live file system (node:fs).
 *
 * @example
 * const text = await effects.nodeFileSystem.readText('runs/mnist-mlp/version_0/metrics.csv')()   // Either<FileError, string>
 * fit(module, { train, val }, {}, { fs: effects.nodeFileSystem }).subscribe()   // the default
 */
export const nodeFileSystem: FileSystem = {
  readFile: (path) => attempt('read', path, async () => new Uint8Array(await fsp.readFile(path))),
  readText: (path) => attempt('read', path, () => fsp.readFile(path, 'utf8')),
  writeFile: (path, data) => attempt('write', path, () => fsp.writeFile(path, bytes(data))),
  appendFile: (path, data) => attempt('append to', path, () => fsp.appendFile(path, bytes(data))),
  writeFileAtomic: (path, data) =>
    attempt('write', path, async () => {
      const temp = nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${process.pid}.${tempCounter++}.tmp`)
      try {
        const handle = await fsp.open(temp, 'w')
        try {
          await handle.writeFile(bytes(data))
          await handle.sync()
        } finally {
          await handle.close()
        }
        await fsp.rename(temp, path)
      } catch (e) {
        // Leave no temporary file behind when the write or the rename fails.
        await fsp.rm(temp, { force: true }).catch(() => undefined)
        throw e
      }
      // Make the rename itself durable.
      const dir = await fsp.open(nodePath.dirname(path), 'r')
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    }),
  mkdir: (path) => attempt('create directory', path, () => makeDirs(path)),
  createDir: (path) =>
    attempt('create directory', path, () =>
      fsp.mkdir(path).then(
        () => true,
        async (e: unknown) => {
          // Exclusive by the OS: of several processes making the same folder, one gets it.
          if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (await fsp.stat(path)).isDirectory()) return false
          throw e
        },
      ),
    ),
  rename: (from, to) => attempt('rename', `${from} -> ${to}`, () => fsp.rename(from, to)),
  remove: (path) => attempt('remove', path, () => fsp.rm(path, { recursive: true, force: true })),
  exists: (path) => () =>
    fsp.access(path).then(
      () => true,
      () => false,
    ),
  list: (dir) => attempt('list', dir, async () => (await fsp.readdir(dir)).sort()),
}
