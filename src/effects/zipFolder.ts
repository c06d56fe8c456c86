import { zipSync } from 'fflate'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { pathSegments } from './browserPaths.js'
import type { FileError, FileSystem } from './fileSystem.js'

/** Thrown inside the walk, so the first failed read ends it with its own error. */
class Failed extends Error {
  constructor(readonly error: FileError) {
    super(error.message)
  }
}

const run = async <A>(te: TE.TaskEither<FileError, A>): Promise<A> => {
  const r = await te()
  if (E.isLeft(r)) throw new Failed(r.left)
  return r.right
}

/** The folder's files by their path in the zip; an empty folder is an entry ending in `/`. */
const collect = async (fs: FileSystem, dir: string, inZip: string, out: Record<string, Uint8Array>): Promise<void> => {
  // A name that is no child (an empty one, '.', '..') would walk the same folder forever.
  const names = (await run(fs.list(dir))).filter((n) => n !== '' && n !== '.' && n !== '..' && !n.includes('/'))
  if (names.length === 0) out[`${inZip}/`] = new Uint8Array()
  for (const name of names) {
    const path = `${dir}/${name}`
    // A FileSystem has no stat: what lists is a folder, the rest are files.
    const inner = await fs.list(path)()
    if (E.isRight(inner)) await collect(fs, path, `${inZip}/${name}`, out)
    else out[`${inZip}/${name}`] = await run(fs.readFile(path))
  }
}

/** The name a folder has in its zip (and the zip's default file name): its last path segment. */
const folderName = (dir: string): string => pathSegments(dir).at(-1) ?? 'files'

/**
 * Zips a folder of any `FileSystem` (the page's `browserFileSystem()`, a `memoryFileSystem()`)
 * into the bytes of a `.zip`: its files and empty folders under one top folder named like it
 * (`runs/mnist` -> `mnist/version_0/...`), compressed with deflate (fflate). Whole in memory:
 * meant for a run's logs and checkpoints, not gigabytes. A file that cannot be read fails the
 * whole zip with its `FileError`.
 *
 * @example
 * const zip = await effects.zipFolder(effects.browserFileSystem(), 'runs/mnist')()
 * if (E.isRight(zip)) console.log(`${zip.right.length} bytes`)   // mnist/version_0/metrics.csv, mnist/version_0/checkpoints/last/...
 */
export const zipFolder =
  (fs: FileSystem, dir: string): TE.TaskEither<FileError, Uint8Array> =>
  async () => {
    const files: Record<string, Uint8Array> = {}
    try {
      await collect(fs, pathSegments(dir).join('/') || dir, folderName(dir), files)
      return E.right(zipSync(files))
    } catch (e) {
      if (e instanceof Failed) return E.left(e.error)
      return E.left(rxtrainError('FileError', `could not zip ${dir}: ${e instanceof Error ? e.message : String(e)}`, 'check that the folder fits in memory.', { operation: 'zip', path: dir }))
    }
  }

/** How long the download's object URL stays valid: revoking it at once cancels the download in some browsers. */
const REVOKE_AFTER_MS = 60_000

/**
 * Zips a folder (see `zipFolder`) and has the browser download it, as `<folder>.zip` unless
 * `fileName` says otherwise: a Blob, an object URL and a click on an `<a download>`. Call it from
 * a user's click (a download button): browsers may block downloads a page starts by itself.
 * Outside a page (no `document`) it is a `FileError`: use `zipFolder` and write the bytes.
 *
 * @example
 * const button = document.querySelector('#download')
 * button?.addEventListener('click', () => void effects.downloadZip(effects.browserFileSystem(), 'runs/mnist')())   // mnist.zip
 */
export const downloadZip =
  (fs: FileSystem, dir: string, fileName?: string): TE.TaskEither<FileError, void> =>
  async () => {
    const doc = globalThis.document as Document | undefined
    if (doc?.createElement === undefined)
      return E.left(rxtrainError('FileError', `could not download ${dir}: there is no page (no document) here`, 'call downloadZip in a browser page; elsewhere use zipFolder and write its bytes to a file.', { operation: 'download', path: dir }))
    const zip = await zipFolder(fs, dir)()
    if (E.isLeft(zip)) return zip
    const url = URL.createObjectURL(new Blob([zip.right as Uint8Array<ArrayBuffer>], { type: 'application/zip' }))
    const a = doc.createElement('a')
    a.href = url
    a.download = fileName ?? `${folderName(dir)}.zip`
    a.style.display = 'none'
    doc.body.appendChild(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS)
    return E.right(undefined)
  }
