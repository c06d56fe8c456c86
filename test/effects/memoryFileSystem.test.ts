import { describe, expect, it } from 'vitest'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { fails, fileSystemContract, ok } from './fileSystemContract.js'

fileSystemContract('memoryFileSystem', async () => {
  const fs = memoryFileSystem()
  await ok(fs.mkdir('/work/run'))
  return { fs, root: '/work/run' }
})

describe('memoryFileSystem', () => {
  it('seeds files and creates their parent directories', async () => {
    const fs = memoryFileSystem({ '/data/mnist/a.idx': Uint8Array.from([1, 2]), 'rel/notes.txt': 'hi' })
    expect(await ok(fs.list('/data'))).toEqual(['mnist'])
    expect(Array.from(await ok(fs.readFile('/data/mnist/a.idx')))).toEqual([1, 2])
    expect(await ok(fs.readText('rel/notes.txt'))).toBe('hi')
    await ok(fs.writeFile('/data/mnist/b.idx', 'b'))
    expect(await ok(fs.list('/data/mnist'))).toEqual(['a.idx', 'b.idx'])
  })

  it('a fresh file system has only the root: writing to /x/y needs mkdir', async () => {
    const fs = memoryFileSystem()
    const e = await fails(fs.writeFile('/x/y.txt', 'y'))
    expect(e.problem).toMatch(/no such directory/)
    await ok(fs.writeFile('/top.txt', 't'))
    expect(await ok(fs.list('/'))).toEqual(['top.txt'])
  })

  it('removing the root empties it but keeps it usable', async () => {
    const fs = memoryFileSystem({ '/a/b.txt': 'b', '/c.txt': 'c' })
    await ok(fs.remove('/'))
    expect(await ok(fs.list('/'))).toEqual([])
    await ok(fs.writeFile('/x', 'x'))
    expect(await ok(fs.list('/'))).toEqual(['x'])
  })

  it('exposes what was written in `files`, by normalised path', async () => {
    const fs = memoryFileSystem()
    await ok(fs.mkdir('/a/b'))
    await ok(fs.writeFile('/a/./b/../b//c.txt', 'c'))
    expect([...fs.files.keys()]).toEqual(['/a/b/c.txt'])
    expect(new TextDecoder().decode(fs.files.get('/a/b/c.txt'))).toBe('c')
  })

  it('reads return copies: mutating them does not change the stored file', async () => {
    const fs = memoryFileSystem({ '/f': Uint8Array.from([1, 2, 3]) })
    const bytes = await ok(fs.readFile('/f'))
    bytes[0] = 99
    expect(Array.from(await ok(fs.readFile('/f')))).toEqual([1, 2, 3])
    // Writes copy too.
    const data = Uint8Array.from([4, 5])
    await ok(fs.writeFile('/g', data))
    data[0] = 0
    expect(Array.from(await ok(fs.readFile('/g')))).toEqual([4, 5])
  })

  it('rename onto an existing directory is a FileError and loses nothing', async () => {
    const fs = memoryFileSystem({ '/d/keep.txt': 'k', '/f.txt': 'f' })
    await fails(fs.rename('/f.txt', '/d'))
    expect(await ok(fs.readText('/f.txt'))).toBe('f')
    expect(await ok(fs.list('/d'))).toEqual(['keep.txt'])
  })

  it('rename of a directory refuses a non-empty target, a file, or its own subtree', async () => {
    const fs = memoryFileSystem({ '/src/a.txt': 'a', '/full/b.txt': 'b', '/file.txt': 'f' })
    await ok(fs.mkdir('/empty'))
    await fails(fs.rename('/src', '/full'))
    await fails(fs.rename('/src', '/file.txt'))
    await fails(fs.rename('/src', '/src/inner'))
    expect(await ok(fs.list('/src'))).toEqual(['a.txt'])
    await ok(fs.rename('/src', '/empty'))
    expect(await ok(fs.readText('/empty/a.txt'))).toBe('a')
    expect(await fs.exists('/src')()).toBe(false)
  })
})
