import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { pathSegments, StoreFailure } from './browserPaths.js'
import { type FileError, type FileSystem, fileError } from './fileSystem.js'

/**
 * A read-only file system over HTTP: `readFile('a/b.bin')` fetches `<baseUrl>/a/b.bin`. What
 * lets a page hand files its server serves (MNIST's IDX files, a checkpoint to start from) to
 * code that takes a `FileSystem`, such as `data.loadMnist`. `exists` asks with `HEAD` (then
 * `GET` where a server refuses `HEAD`). A web server does not list folders, so `list` is a
 * `FileError`, as is every write: write to `browserFileSystem()` instead. A relative `baseUrl`
 * is relative to the page.
 *
 * @example
 * const mnist = await data.loadMnist(effects.fetchFileSystem('/mnist'), '.')()   // the four IDX files the page serves at /mnist/
 * if (E.isLeft(mnist)) console.error(mnist.left.problem)
 */
export const fetchFileSystem = (baseUrl: string): FileSystem => {
  const base = baseUrl.replace(/\/+$/, '')
  const urlOf = (path: string): string => {
    const segments = pathSegments(path)
    return segments.length === 0 ? base || '/' : `${base}/${segments.map(encodeURIComponent).join('/')}`
  }
  const readFile = (path: string): TE.TaskEither<FileError, Uint8Array> => async () => {
    const url = urlOf(path)
    try {
      const response = await globalThis.fetch(url)
      if (!response.ok)
        return E.left(fileError('read', path, new StoreFailure(`HTTP ${response.status} ${response.statusText} from ${url}`, response.status === 404 ? 'ENOENT' : undefined)))
      return E.right(new Uint8Array(await response.arrayBuffer()))
    } catch (e) {
      return E.left(fileError('read', path, new StoreFailure(`fetching ${url} failed (${e instanceof Error ? e.message : String(e)})`)))
    }
  }
  const readOnly = (operation: string, path: string): TE.TaskEither<FileError, never> =>
    TE.left(
      rxtrainError(
        'FileError',
        `could not ${operation} ${path}: fetchFileSystem(${JSON.stringify(baseUrl)}) is read-only (files come from a web server)`,
        'write to effects.browserFileSystem() (or a memoryFileSystem()) instead; use fetchFileSystem only to read what the page serves.',
        { operation, path, code: 'EROFS' },
      ),
    )
  return {
    readFile,
    readText: (path) => TE.map((b: Uint8Array) => new TextDecoder().decode(b))(readFile(path)),
    writeFile: (path) => readOnly('write', path),
    writeFileAtomic: (path) => readOnly('write', path),
    appendFile: (path) => readOnly('append to', path),
    mkdir: (path) => readOnly('create directory', path),
    createDir: (path) => readOnly('create directory', path),
    rename: (from) => readOnly('rename', from),
    remove: (path) => readOnly('remove', path),
    exists: (path) => async () => {
      try {
        const head = await globalThis.fetch(urlOf(path), { method: 'HEAD' })
        if (head.status !== 405 && head.status !== 501) return head.ok
        const get = await globalThis.fetch(urlOf(path))
        await get.body?.cancel()
        return get.ok
      } catch {
        return false
      }
    },
    list: (dir) =>
      TE.left(
        rxtrainError(
          'FileError',
          `could not list ${dir}: a web server does not list folders (fetchFileSystem(${JSON.stringify(baseUrl)}))`,
          'read files by name with readFile, or copy them into effects.browserFileSystem() first and list there.',
          { operation: 'list', path: dir },
        ),
      ),
  }
}
