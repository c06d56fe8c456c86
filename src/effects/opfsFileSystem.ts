import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { failWith, pathSegments, toFileError } from './browserPaths.js'
import type { FileError, FileSystem } from './fileSystem.js'

type Dir = FileSystemDirectoryHandle
type Handle = FileSystemFileHandle | FileSystemDirectoryHandle
/** `move()` is in Chromium (files and folders, in the OPFS) and Firefox, not yet in TypeScript's DOM types. */
type Movable = { move?: (parent: Dir, name: string) => Promise<void> }
/** The folder iterator is in every OPFS browser, not in the DOM lib this project compiles with. */
type Listable = { keys(): AsyncIterable<string> }

const encode = (data: Uint8Array | string): Uint8Array<ArrayBuffer> =>
  typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data)

const isNamed = (e: unknown, name: string): boolean => (e as { name?: unknown } | null)?.name === name

/** Whether this page can use the Origin Private File System (a secure context with `getDirectory` and writable files). */
export const opfsAvailable = (): boolean =>
  typeof globalThis.navigator?.storage?.getDirectory === 'function' &&
  typeof globalThis.FileSystemFileHandle?.prototype?.createWritable === 'function'

/**
 * Operations of every OPFS file system in the page run one at a time: a writable stream commits
 * its whole file on `close()`, so two appends to one file in flight at once would lose one.
 */
let tail: Promise<unknown> = Promise.resolve()
const serially = <A>(f: () => Promise<A>): Promise<A> => {
  const run = tail.then(f, f)
  tail = run.catch(() => undefined)
  return run
}

/**
 * A file system on the browser's Origin Private File System (`navigator.storage.getDirectory()`):
 * a real, per-origin disk store that survives reloads, where a run in a page keeps its
 * checkpoints and logs. Paths are those the Node file system takes (`runs/x/version_0/...`); a
 * leading `/` changes nothing (the origin has one root); `root` puts everything under a folder.
 *
 * Atomicity: `writeFile` and `writeFileAtomic` both write through `createWritable()`, which the
 * browser writes to a swap file and puts in place on `close()` (the File System spec), so a tab
 * closed mid-write leaves the old file or the new one, never a torn one; no temporary sibling is
 * left to show up in `list`. `rename` uses the handle's `move()`: Chromium has it for files
 * only, so a folder (a checkpoint's temporary folder, renamed into place) is rebuilt under the
 * new name with each file moved into it, which a tab closed half-way leaves split (checkpoint
 * pointers are written after the rename, so `last` still names a whole checkpoint then). Where a
 * browser lacks `move()` altogether, files are copied then removed. `createDir` holds a Web Lock (`navigator.locks`),
 * so two tabs of the origin claiming one folder get one `true`; without Web Locks it is atomic
 * within the page only. Operations run one at a time per page.
 *
 * @example
 * const fs = effects.opfsFileSystem()
 * await fs.mkdir('runs/demo')()
 * await fs.writeFileAtomic('runs/demo/notes.txt', 'saved in the browser')()
 * await fs.list('runs/demo')()   // Right(['notes.txt']), after a reload too
 */
export const opfsFileSystem = (options: { readonly root?: string } = {}): FileSystem => {
  const rootSegments = pathSegments(options.root ?? '')
  const origin = async (): Promise<Dir> => {
    let dir = await globalThis.navigator.storage.getDirectory()
    for (const name of rootSegments) dir = await dir.getDirectoryHandle(name, { create: true })
    return dir
  }
  const dirAt = async (segments: readonly string[], create = false): Promise<Dir> => {
    let dir = await origin()
    for (const name of segments) dir = await dir.getDirectoryHandle(name, { create })
    return dir
  }
  /** The folder a path is in (which must exist) and the path's last name; the root has none. */
  const locate = async (path: string): Promise<{ parent: Dir; name: string | undefined }> => {
    const segments = pathSegments(path)
    const name = segments.pop()
    try {
      return { parent: await dirAt(segments), name }
    } catch (e) {
      if (isNamed(e, 'NotFoundError')) return failWith('no such directory', 'ENOENT')
      if (isNamed(e, 'TypeMismatchError')) return failWith('a file is in the way of its folder', 'ENOTDIR')
      throw e
    }
  }
  /** A path's handle, or undefined when nothing is there. */
  const handleAt = async (parent: Dir, name: string): Promise<Handle | undefined> => {
    try {
      return await parent.getFileHandle(name)
    } catch (e) {
      if (isNamed(e, 'TypeMismatchError')) return parent.getDirectoryHandle(name)
      if (isNamed(e, 'NotFoundError')) return undefined
      throw e
    }
  }
  const op =
    <A>(operation: string, path: string, f: () => Promise<A>): TE.TaskEither<FileError, A> =>
    () =>
      serially(f).then(E.right, (e: unknown) => E.left(toFileError(operation, path, e)))

  const writeTo = async (path: string, data: Uint8Array | string, append: boolean): Promise<void> => {
    const { parent, name } = await locate(path)
    if (name === undefined) return failWith('is a directory', 'EISDIR')
    const existing = await handleAt(parent, name)
    if (existing?.kind === 'directory') return failWith('is a directory', 'EISDIR')
    const file = existing ?? (await parent.getFileHandle(name, { create: true }))
    const size = append ? (await file.getFile()).size : 0
    const stream = await file.createWritable({ keepExistingData: append })
    try {
      if (append) await stream.seek(size)
      await stream.write(encode(data))
      await stream.close()
    } catch (e) {
      await stream.abort().catch(() => undefined)
      throw e
    }
  }
  const readBytes = async (path: string): Promise<Uint8Array> => {
    const { parent, name } = await locate(path)
    const handle = name === undefined ? undefined : await handleAt(parent, name)
    if (handle === undefined) return failWith('no such file', 'ENOENT')
    if (handle.kind === 'directory') return failWith('is a directory', 'EISDIR')
    return new Uint8Array(await (await handle.getFile()).arrayBuffer())
  }
  const names = async (dir: Dir): Promise<string[]> => {
    const out: string[] = []
    for await (const name of (dir as unknown as Listable).keys()) out.push(name)
    return out.sort()
  }
  /** Puts a file under another name and folder: `move()` where the handle has it, else a copy then a removal. */
  const moveFile = async (file: FileSystemFileHandle, fromParent: Dir, fromName: string, toParent: Dir, toName: string): Promise<void> => {
    const move = (file as Movable).move
    if (typeof move === 'function') return move.call(file, toParent, toName)
    const stream = await (await toParent.getFileHandle(toName, { create: true })).createWritable()
    await stream.write(await (await file.getFile()).arrayBuffer())
    await stream.close()
    await fromParent.removeEntry(fromName)
  }
  /**
   * Moves a folder: `move()` where folder handles have it (Firefox); else (Chromium 156 has it on
   * files only) the tree is rebuilt under the new name, each file moved into it, then the old
   * folders removed: no bytes are copied, but a tab closed half-way leaves the files split
   * between the two folders.
   */
  const moveDir = async (dir: Dir, fromParent: Dir, fromName: string, toParent: Dir, toName: string): Promise<void> => {
    const move = (dir as Movable).move
    if (typeof move === 'function') return move.call(dir, toParent, toName)
    const target = await toParent.getDirectoryHandle(toName, { create: true })
    for (const name of await names(dir)) {
      const h = await handleAt(dir, name)
      if (h?.kind === 'directory') await moveDir(h, dir, name, target, name)
      else if (h !== undefined) await moveFile(h, dir, name, target, name)
    }
    await fromParent.removeEntry(fromName, { recursive: true })
  }

  return {
    readFile: (path) => op('read', path, () => readBytes(path)),
    readText: (path) => op('read', path, async () => new TextDecoder().decode(await readBytes(path))),
    writeFile: (path, data) => op('write', path, () => writeTo(path, data, false)),
    writeFileAtomic: (path, data) => op('write', path, () => writeTo(path, data, false)),
    appendFile: (path, data) => op('append to', path, () => writeTo(path, data, true)),
    mkdir: (path) =>
      op('create directory', path, async () => {
        try {
          await dirAt(pathSegments(path), true)
        } catch (e) {
          if (isNamed(e, 'TypeMismatchError')) failWith('a file is in the way', 'ENOTDIR')
          throw e
        }
      }),
    createDir: (path) =>
      op('create directory', path, async () => {
        const claim = async (): Promise<boolean> => {
          const { parent, name } = await locate(path)
          if (name === undefined) return false
          const there = await handleAt(parent, name)
          if (there?.kind === 'file') return failWith('a file is in the way', 'ENOTDIR')
          if (there !== undefined) return false
          await parent.getDirectoryHandle(name, { create: true })
          return true
        }
        const locks = globalThis.navigator.locks as LockManager | undefined
        if (locks === undefined) return claim()
        return locks.request(`rxtrain-opfs-createDir:${rootSegments.join('/')}/${pathSegments(path).join('/')}`, claim)
      }),
    rename: (from, to) =>
      op('rename', from, async () => {
        const source = await locate(from)
        const handle = source.name === undefined ? undefined : await handleAt(source.parent, source.name)
        if (handle === undefined || source.name === undefined) return failWith('no such file or directory', 'ENOENT')
        const fromSegments = pathSegments(from)
        const toSegments = pathSegments(to)
        if (fromSegments.join('/') === toSegments.join('/')) return
        const target = await locate(to).catch(() => failWith(`no such directory for ${to}`, 'ENOENT'))
        if (target.name === undefined) return failWith(`${to} is a directory`, 'EISDIR')
        const there = await handleAt(target.parent, target.name)
        if (handle.kind === 'file') {
          if (there?.kind === 'directory') return failWith(`${to} is a directory`, 'EISDIR')
        } else {
          if (toSegments.join('/').startsWith(`${fromSegments.join('/')}/`)) return failWith(`${to} is inside the directory being moved`)
          if (there?.kind === 'file') return failWith(`${to} is a file`, 'ENOTDIR')
          if (there !== undefined) {
            if ((await names(there)).length > 0) return failWith(`${to}: directory not empty`)
            await target.parent.removeEntry(target.name)
          }
        }
        if (handle.kind === 'file') await moveFile(handle, source.parent, source.name, target.parent, target.name)
        else await moveDir(handle, source.parent, source.name, target.parent, target.name)
      }),
    remove: (path) =>
      op('remove', path, async () => {
        const segments = pathSegments(path)
        const name = segments.pop()
        let parent: Dir
        try {
          parent = await dirAt(segments)
        } catch (e) {
          if (isNamed(e, 'NotFoundError') || isNamed(e, 'TypeMismatchError')) return
          throw e
        }
        const targets = name === undefined ? await names(parent) : [name]
        for (const n of targets)
          await parent.removeEntry(n, { recursive: true }).catch((e: unknown) => {
            if (!isNamed(e, 'NotFoundError')) throw e
          })
      }),
    exists: (path) => () =>
      serially(async () => {
        const { parent, name } = await locate(path)
        return name === undefined || (await handleAt(parent, name)) !== undefined
      }).catch(() => false),
    list: (dir) =>
      op('list', dir, async () => {
        try {
          return await names(await dirAt(pathSegments(dir)))
        } catch (e) {
          if (isNamed(e, 'NotFoundError')) return failWith('no such directory', 'ENOENT')
          if (isNamed(e, 'TypeMismatchError')) return failWith('not a directory', 'ENOTDIR')
          throw e
        }
      }),
  }
}
