import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fetchFileSystem } from '../../src/effects/fetchFileSystem.js'
import type { FileError } from '../../src/effects/fileSystem.js'
import { fails, ok } from './fileSystemContract.js'

// A real HTTP server on 127.0.0.1 (Node's fetch is the browser's API): files by path, and one
// folder whose server refuses HEAD, as some static hosts do.
const files: Record<string, Uint8Array> = {
  '/data/a.bin': Uint8Array.from([0, 1, 255]),
  '/data/sub dir/b.txt': new TextEncoder().encode('héllo'),
  '/nohead/c.txt': new TextEncoder().encode('c'),
}
const seen: string[] = []
let server: Server
let base: string

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    seen.push(`${req.method} ${path}`)
    if (req.method === 'HEAD' && path.startsWith('/nohead/')) return res.writeHead(405).end()
    const body = files[path]
    if (body === undefined) return res.writeHead(404).end('not found')
    res.writeHead(200, { 'content-length': body.length })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('fetchFileSystem', () => {
  it('reads bytes and text by path under the base URL (encoding names, any slashes)', async () => {
    const fs = fetchFileSystem(`${base}/data/`)
    expect(Array.from(await ok(fs.readFile('a.bin')))).toEqual([0, 1, 255])
    expect(await ok(fs.readText('./sub dir//b.txt'))).toBe('héllo')
    expect(await ok(fetchFileSystem(base).readText('/data/sub dir/b.txt'))).toBe('héllo')
    expect(seen).toContain('GET /data/sub dir/b.txt')
  })

  it('a missing file is a FileError with the status and ENOENT; an unreachable server is one too', async () => {
    const fs = fetchFileSystem(`${base}/data`)
    const e = await fails(fs.readFile('nope.bin'))
    expect(e.problem).toContain('HTTP 404')
    expect(e.details).toMatchObject({ operation: 'read', path: 'nope.bin', code: 'ENOENT' })
    const down = await fails(fetchFileSystem('http://127.0.0.1:9/x').readText('a'))
    expect(down.problem).toContain('fetching http://127.0.0.1:9/x/a failed')
  })

  it('exists asks with HEAD, and with GET where HEAD is refused', async () => {
    const fs = fetchFileSystem(base)
    seen.length = 0
    expect(await fs.exists('data/a.bin')()).toBe(true)
    expect(await fs.exists('data/none')()).toBe(false)
    expect(seen).toEqual(['HEAD /data/a.bin', 'HEAD /data/none'])
    expect(await fs.exists('nohead/c.txt')()).toBe(true)
    expect(await fs.exists('nohead/none')()).toBe(false)
    expect(await fetchFileSystem('http://127.0.0.1:9').exists('a')()).toBe(false)
  })

  it('is read-only: every write and list is a FileError saying so, and nothing is sent', async () => {
    const fs = fetchFileSystem(base)
    seen.length = 0
    const writes: TE.TaskEither<FileError, unknown>[] = [fs.writeFile('x', 'x'), fs.writeFileAtomic('x', 'x'), fs.appendFile('x', 'x'), fs.mkdir('d'), fs.createDir('d'), fs.rename('data/a.bin', 'b'), fs.remove('data/a.bin')]
    for (const te of writes) {
      const e = await fails(te)
      expect(e.problem).toContain('read-only')
      expect(e.details).toMatchObject({ code: 'EROFS' })
    }
    expect((await fails(fs.list('data'))).problem).toContain('does not list folders')
    expect(seen).toEqual([])
    expect(E.isRight(await fs.readFile('data/a.bin')())).toBe(true)
  })
})
