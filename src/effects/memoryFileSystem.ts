import * as TE from 'fp-ts/lib/TaskEither.js'
import { type FileError, type FileSystem, fileError } from './fileSystem.js'

/**
 * An in-memory file system, for tests: `files` shows what was written.
 *
 * @example
 * const fs: effects.MemoryFileSystem = effects.memoryFileSystem()
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, { fs }).pipe(jsonlLogger({ dir: 'logs' })))
 * console.log([...fs.files.keys()])   // ['logs/metrics.jsonl']
 */
export interface MemoryFileSystem extends FileSystem {
  readonly files: ReadonlyMap<string, Uint8Array>
}

const normalize = (path: string): string => {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return (path.startsWith('/') ? '/' : '') + parts.join('/')
}

const parentOf = (path: string): string => {
  const i = path.lastIndexOf('/')
  return i <= 0 ? (path.startsWith('/') ? '/' : '') : path.slice(0, i)
}

const encode = (data: Uint8Array | string): Uint8Array =>
  typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data)

/**
 * A fresh in-memory file system, optionally seeded with files. Writes require the parent
 * directory to exist (as on disk), so tests catch a missing `mkdir`.
 *
 * @example
 * const fs = effects.memoryFileSystem({ 'runs/notes.txt': 'seeded' })
 * await fs.writeFile('runs/a.txt', 'x')()
 * await fs.list('runs')()            // Right(['a.txt', 'notes.txt'])
 * await fs.writeFile('new/b.txt', 'x')()   // Left(FileError): no such directory (mkdir first)
 */
export const memoryFileSystem = (seed: Readonly<Record<string, Uint8Array | string>> = {}): MemoryFileSystem => {
  const files = new Map<string, Uint8Array>()
  const dirs = new Set<string>(['', '/'])
  const addDirs = (path: string): void => {
    for (let p = path; !dirs.has(p); p = parentOf(p)) dirs.add(p)
  }
  for (const [path, data] of Object.entries(seed)) {
    const p = normalize(path)
    addDirs(parentOf(p))
    files.set(p, encode(data))
  }
  const fail = <A>(operation: string, path: string, why: string): TE.TaskEither<FileError, A> =>
    TE.left(fileError(operation, path, new Error(why)))
  const write = (operation: string, path: string, f: (p: string) => void): TE.TaskEither<FileError, void> => {
    const p = normalize(path)
    if (!dirs.has(parentOf(p))) return fail(operation, path, 'no such directory')
    if (dirs.has(p)) return fail(operation, path, 'is a directory')
    f(p)
    return TE.right(undefined)
  }
  const readFile = (path: string): TE.TaskEither<FileError, Uint8Array> => {
    const data = files.get(normalize(path))
    return data === undefined ? fail('read', path, 'no such file') : TE.right(new Uint8Array(data))
  }
  return {
    files,
    readFile,
    readText: (path) => TE.map((b: Uint8Array) => new TextDecoder().decode(b))(readFile(path)),
    writeFile: (path, data) => write('write', path, (p) => files.set(p, encode(data))),
    writeFileAtomic: (path, data) => write('write', path, (p) => files.set(p, encode(data))),
    appendFile: (path, data) =>
      write('append to', path, (p) => {
        const old = files.get(p) ?? new Uint8Array()
        const add = encode(data)
        const joined = new Uint8Array(old.length + add.length)
        joined.set(old)
        joined.set(add, old.length)
        files.set(p, joined)
      }),
    mkdir: (path) => {
      const p = normalize(path)
      for (let q = p; !dirs.has(q); q = parentOf(q)) if (files.has(q)) return fail('create directory', path, 'a file is in the way')
      addDirs(p)
      return TE.right(undefined)
    },
    createDir: (path) => {
      const p = normalize(path)
      if (files.has(p)) return fail('create directory', path, 'a file is in the way')
      if (dirs.has(p)) return TE.right(false)
      if (!dirs.has(parentOf(p))) return fail('create directory', path, 'no such directory (mkdir the parent first)')
      dirs.add(p)
      return TE.right(true)
    },
    rename: (from, to) => {
      const f = normalize(from)
      const t = normalize(to)
      if (!dirs.has(parentOf(t))) return fail('rename', to, 'no such directory')
      const data = files.get(f)
      if (data !== undefined) {
        if (dirs.has(t)) return fail('rename', to, 'is a directory')
        files.delete(f)
        files.set(t, data)
        return TE.right(undefined)
      }
      // A directory moves with everything under it (as rename(2) does); the target may only be
      // an empty directory, never a file or a place inside the source.
      if (!dirs.has(f) || f === '' || f === '/') return fail('rename', from, 'no such file or directory')
      if (t === f) return TE.right(undefined)
      if (t.startsWith(`${f}/`)) return fail('rename', to, 'is inside the directory being moved')
      if (files.has(t)) return fail('rename', to, 'is a file')
      const under = (p: string): boolean => p.startsWith(`${t}/`)
      if ([...files.keys()].some(under) || [...dirs].some(under)) return fail('rename', to, 'directory not empty')
      const moved = (p: string): string => t + p.slice(f.length)
      for (const [k, v] of [...files]) if (k.startsWith(`${f}/`)) {
        files.delete(k)
        files.set(moved(k), v)
      }
      for (const d of [...dirs]) if (d === f || d.startsWith(`${f}/`)) {
        dirs.delete(d)
        dirs.add(moved(d))
      }
      return TE.right(undefined)
    },
    remove: (path) => {
      const p = normalize(path)
      const inside = p === '/' || p === '' ? p : `${p}/`
      files.delete(p)
      for (const k of [...files.keys()]) if (k.startsWith(inside)) files.delete(k)
      // The roots always exist, as on disk.
      for (const d of [...dirs]) if ((d === p || d.startsWith(inside)) && d !== '' && d !== '/') dirs.delete(d)
      return TE.right(undefined)
    },
    exists: (path) => async () => files.has(normalize(path)) || dirs.has(normalize(path)),
    list: (dir) => {
      const d = normalize(dir)
      if (!dirs.has(d)) return fail('list', dir, 'no such directory')
      const prefix = d === '' ? '' : d === '/' ? '/' : `${d}/`
      const names = new Set<string>()
      for (const p of [...files.keys(), ...dirs])
        if (p.startsWith(prefix) && p !== d && p.length > prefix.length) names.add(p.slice(prefix.length).split('/')[0] as string)
      return TE.right([...names].sort())
    },
  }
}
