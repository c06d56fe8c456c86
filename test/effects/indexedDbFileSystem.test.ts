import 'fake-indexeddb/auto'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { browserFileSystem } from '../../src/effects/browserFileSystem.js'
import { indexedDbFileSystem } from '../../src/effects/indexedDbFileSystem.js'
import { fails, fileSystemContract, ok } from './fileSystemContract.js'

// IndexedDB in Node through fake-indexeddb (a full implementation of the spec); the same contract
// runs on Chromium's own IndexedDB in browserCapabilities.test.ts.
let n = 0
const fresh = () => indexedDbFileSystem({ database: `test-${n++}` })

fileSystemContract('indexedDbFileSystem', async () => {
  const fs = fresh()
  await ok(fs.mkdir('work/run'))
  return { fs, root: 'work/run' }
})

describe('indexedDbFileSystem', () => {
  it('keeps what was written in the database: a second instance on it (a reload) reads it back', async () => {
    const database = `reload-${n++}`
    const a = indexedDbFileSystem({ database })
    await ok(a.mkdir('runs/x/ckpt'))
    await ok(a.writeFileAtomic('runs/x/ckpt/tensors.bin', Uint8Array.from([1, 2, 3])))
    await ok(a.appendFile('runs/x/log.csv', 'a\n'))
    const b = indexedDbFileSystem({ database })
    expect(Array.from(await ok(b.readFile('/runs/x/ckpt/tensors.bin')))).toEqual([1, 2, 3])
    expect(await ok(b.list('runs/x'))).toEqual(['ckpt', 'log.csv'])
    // Another database is another file system.
    expect(await fresh().exists('runs')()).toBe(false)
  })

  it('an operation that fails changes nothing (one transaction each)', async () => {
    const fs = fresh()
    await ok(fs.mkdir('a/src/deep'))
    await ok(fs.writeFile('a/src/deep/w.bin', 'w'))
    await ok(fs.mkdir('a/dst'))
    await ok(fs.writeFile('a/dst/occupied', 'o'))
    await fails(fs.rename('a/src', 'a/dst'))
    expect(await ok(fs.readText('a/src/deep/w.bin'))).toBe('w')
    expect(await ok(fs.list('a/dst'))).toEqual(['occupied'])
  })

  it('createDir claims a folder once among calls made at the same time', async () => {
    const fs = fresh()
    const claims = await Promise.all(Array.from({ length: 5 }, () => fs.createDir('v')()))
    expect(claims.filter((c) => E.isRight(c) && c.right).length).toBe(1)
  })

  it('the root is always there and removing it empties the store', async () => {
    const fs = fresh()
    await ok(fs.writeFile('/top.txt', 't'))
    expect(await ok(fs.list('/'))).toEqual(['top.txt'])
    expect(await ok(fs.list(''))).toEqual(['top.txt'])
    await ok(fs.remove('/'))
    expect(await ok(fs.list('/'))).toEqual([])
    expect(await fs.exists('/')()).toBe(true)
    await fails(fs.readFile('/'))
  })

  it('browserFileSystem falls back to IndexedDB where there is no OPFS (here: Node)', async () => {
    const fs = browserFileSystem({ database: 'fallback' })
    await ok(fs.mkdir('runs'))
    await ok(fs.writeFile('runs/a.txt', 'a'))
    expect(await ok(indexedDbFileSystem({ database: 'fallback' }).readText('runs/a.txt'))).toBe('a')
  })
})
