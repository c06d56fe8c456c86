import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { failWith, pathSegments, toFileError } from './browserPaths.js'
import type { FileError, FileSystem } from './fileSystem.js'

/** One record per file or folder, keyed by its path (`runs/x/a.csv`); the root (`''`) is never stored and always there. */
type Entry = { readonly kind: 'file'; readonly data: Uint8Array } | { readonly kind: 'dir' }

const STORE = 'entries'
/** Above every UTF-16 code unit: `[p + '/', p + '/' + LAST]` is the key range of everything under `p`. */
const LAST = '\uffff'

const encode = (data: Uint8Array | string): Uint8Array =>
  typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data)

const keyOf = (path: string): string => pathSegments(path).join('/')
const parentKey = (key: string): string => key.slice(0, Math.max(0, key.lastIndexOf('/')))

const request = <A>(r: IDBRequest<A>): Promise<A> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })

/** Everything strictly under a folder (all depths); the root's is the whole store. */
const under = (key: string): IDBKeyRange | undefined => (key === '' ? undefined : globalThis.IDBKeyRange.bound(`${key}/`, `${key}/${LAST}`))

/** Whether this page has IndexedDB. */
export const indexedDbAvailable = (): boolean => typeof globalThis.indexedDB?.open === 'function'

/**
 * A file system in one IndexedDB object store (every browser has one; OPFS is the better store
 * where the browser has it, see `browserFileSystem`). Files and folders are records keyed by
 * path; each operation is one transaction, so `writeFileAtomic`, `createDir` (a claim: two tabs
 * asking at once get one `true`), `rename` of a whole folder and `remove` of a tree are atomic:
 * a closed tab leaves all of it or none. Files are whole values: an append rewrites the file, so
 * a log appended to line by line costs in proportion to its size each time.
 *
 * @example
 * const fs = effects.indexedDbFileSystem({ database: 'my-app-runs' })
 * await fs.mkdir('runs/demo')()
 * await fs.appendFile('runs/demo/log.csv', 'step,loss\n')()
 * await fs.readText('runs/demo/log.csv')()   // Right('step,loss\n'), after a reload too
 */
export const indexedDbFileSystem = (options: { readonly database?: string } = {}): FileSystem => {
  const name = options.database ?? 'rxtrain-files'
  let opened: Promise<IDBDatabase> | undefined
  const open = (): Promise<IDBDatabase> => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = globalThis.indexedDB.open(name, 1)
      r.onupgradeneeded = () => r.result.createObjectStore(STORE)
      r.onsuccess = () => {
        // Another tab upgrading the database (a later rxtrain) closes this connection rather than blocking it.
        r.result.onversionchange = () => {
          r.result.close()
          opened = undefined
        }
        resolve(r.result)
      }
      r.onerror = () => reject(r.error)
      r.onblocked = () => reject(new Error(`IndexedDB database ${name} is held open by another tab at an older version: close that tab`))
    })
    opened.catch(() => {
      opened = undefined
    })
    return opened
  }

  /** One transaction: `body` runs inside it, and its result counts once the transaction has committed. */
  const op =
    <A>(operation: string, path: string, mode: IDBTransactionMode, body: (store: IDBObjectStore) => Promise<A>): TE.TaskEither<FileError, A> =>
    async () => {
      try {
        const tx = (await open()).transaction(STORE, mode)
        const done = new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve()
          tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'))
        })
        done.catch(() => undefined)
        let result: A
        try {
          result = await body(tx.objectStore(STORE))
        } catch (e) {
          try {
            tx.abort()
          } catch {
            // already finished
          }
          throw e
        }
        await done
        return E.right(result)
      } catch (e) {
        return E.left(toFileError(operation, path, e))
      }
    }

  const get = (store: IDBObjectStore, key: string): Promise<Entry | undefined> =>
    key === '' ? Promise.resolve({ kind: 'dir' }) : request(store.get(key) as IDBRequest<Entry | undefined>)
  const needFolder = async (store: IDBObjectStore, key: string): Promise<void> => {
    const parent = await get(store, key)
    if (parent === undefined) failWith('no such directory', 'ENOENT')
    if (parent?.kind === 'file') failWith('a file is in the way of its folder', 'ENOTDIR')
  }
  const write = (operation: string, path: string, f: (old: Entry | undefined) => Uint8Array) =>
    op(operation, path, 'readwrite', async (store) => {
      const key = keyOf(path)
      await needFolder(store, parentKey(key))
      const old = await get(store, key)
      if (key === '' || old?.kind === 'dir') failWith('is a directory', 'EISDIR')
      await request(store.put({ kind: 'file', data: f(old) } satisfies Entry, key))
    })
  const readBytes = async (store: IDBObjectStore, path: string): Promise<Uint8Array> => {
    const entry = await get(store, keyOf(path))
    if (entry === undefined) return failWith('no such file', 'ENOENT')
    if (entry.kind === 'dir') return failWith('is a directory', 'EISDIR')
    return new Uint8Array(entry.data)
  }

  return {
    readFile: (path) => op('read', path, 'readonly', (store) => readBytes(store, path)),
    readText: (path) => op('read', path, 'readonly', async (store) => new TextDecoder().decode(await readBytes(store, path))),
    writeFile: (path, data) => write('write', path, () => encode(data)),
    writeFileAtomic: (path, data) => write('write', path, () => encode(data)),
    appendFile: (path, data) =>
      write('append to', path, (old) => {
        const before = old?.kind === 'file' ? old.data : new Uint8Array()
        const add = encode(data)
        const joined = new Uint8Array(before.length + add.length)
        joined.set(before)
        joined.set(add, before.length)
        return joined
      }),
    mkdir: (path) =>
      op('create directory', path, 'readwrite', async (store) => {
        const segments = pathSegments(path)
        for (let i = 1; i <= segments.length; i++) {
          const key = segments.slice(0, i).join('/')
          const entry = await get(store, key)
          if (entry?.kind === 'file') failWith('a file is in the way', 'ENOTDIR')
          if (entry === undefined) await request(store.put({ kind: 'dir' } satisfies Entry, key))
        }
      }),
    createDir: (path) =>
      op('create directory', path, 'readwrite', async (store) => {
        const key = keyOf(path)
        const entry = await get(store, key)
        if (entry?.kind === 'file') return failWith('a file is in the way', 'ENOTDIR')
        if (entry !== undefined) return false
        await needFolder(store, parentKey(key))
        await request(store.put({ kind: 'dir' } satisfies Entry, key))
        return true
      }),
    rename: (from, to) =>
      op('rename', from, 'readwrite', async (store) => {
        const f = keyOf(from)
        const t = keyOf(to)
        const source = f === '' ? undefined : await get(store, f)
        if (source === undefined) return failWith('no such file or directory', 'ENOENT')
        await needFolder(store, parentKey(t)).catch(() => failWith(`no such directory for ${to}`, 'ENOENT'))
        if (t === f) return
        const target = await get(store, t)
        if (source.kind === 'file') {
          if (target?.kind === 'dir') return failWith(`${to} is a directory`, 'EISDIR')
          await request(store.delete(f))
          await request(store.put(source, t))
          return
        }
        // A folder moves with everything under it (as rename(2) does); the target may only be an
        // empty folder, never a file or a place inside the source.
        if (t.startsWith(`${f}/`)) return failWith(`${to} is inside the directory being moved`)
        if (target?.kind === 'file') return failWith(`${to} is a file`, 'ENOTDIR')
        if (target !== undefined && (await request(store.count(under(t)))) > 0) return failWith(`${to}: directory not empty`)
        const range = under(f)
        const [keys, values] = await Promise.all([request(store.getAllKeys(range)), request(store.getAll(range) as IDBRequest<Entry[]>)])
        await request(store.delete(f))
        if (range !== undefined) await request(store.delete(range))
        await request(store.put(source, t))
        for (let i = 0; i < keys.length; i++) await request(store.put(values[i], t + String(keys[i]).slice(f.length)))
      }),
    remove: (path) =>
      op('remove', path, 'readwrite', async (store) => {
        const key = keyOf(path)
        if (key === '') return request(store.clear())
        await request(store.delete(key))
        const range = under(key)
        if (range !== undefined) await request(store.delete(range))
      }),
    exists: (path) => async () => {
      const found = await op('read', path, 'readonly', (store) => get(store, keyOf(path)))()
      return E.isRight(found) && found.right !== undefined
    },
    list: (dir) =>
      op('list', dir, 'readonly', async (store) => {
        const key = keyOf(dir)
        const entry = await get(store, key)
        if (entry === undefined) return failWith('no such directory', 'ENOENT')
        if (entry.kind === 'file') return failWith('not a directory', 'ENOTDIR')
        const prefix = key === '' ? '' : `${key}/`
        const keys = await request(store.getAllKeys(under(key)))
        return keys.map(String).filter((k) => !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length)).sort()
      }),
  }
}
