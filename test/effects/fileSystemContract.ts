import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { describe, expect, it } from 'vitest'
import type { FileError, FileSystem } from '../../src/effects/fileSystem.js'

export const ok = async <A>(te: TE.TaskEither<FileError, A>): Promise<A> => {
  const r = await te()
  if (E.isLeft(r)) throw r.left
  return r.right
}

export const fails = async <A>(te: TE.TaskEither<FileError, A>): Promise<FileError> => {
  const r = await te()
  if (E.isRight(r)) throw new Error(`expected a FileError, got ${JSON.stringify(r.right)}`)
  expect(r.left.tag).toBe('FileError')
  expect(r.left.remedy.length).toBeGreaterThan(0)
  return r.left
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

/**
 * The behaviour every `FileSystem` shares, so that the in-memory one is a faithful stand-in for
 * the live one. `setup` gives a fresh file system and an existing, empty directory in it.
 */
export const fileSystemContract = (name: string, setup: () => Promise<{ fs: FileSystem; root: string }>): void => {
  describe(`${name}: the FileSystem contract`, () => {
    it('writes and reads back bytes and text', async () => {
      const { fs, root } = await setup()
      await ok(fs.writeFile(`${root}/a.bin`, Uint8Array.from([1, 2, 250])))
      expect(Array.from(await ok(fs.readFile(`${root}/a.bin`)))).toEqual([1, 2, 250])
      await ok(fs.writeFile(`${root}/b.txt`, 'héllo\n'))
      expect(await ok(fs.readText(`${root}/b.txt`))).toBe('héllo\n')
      expect(text(await ok(fs.readFile(`${root}/b.txt`)))).toBe('héllo\n')
      await ok(fs.writeFile(`${root}/b.txt`, 'x'))
      expect(await ok(fs.readText(`${root}/b.txt`))).toBe('x')
    })

    it('reading a missing file is a FileError naming the path', async () => {
      const { fs, root } = await setup()
      const e = await fails(fs.readFile(`${root}/nope.bin`))
      expect(e.problem).toContain(`${root}/nope.bin`)
      expect(e.details).toMatchObject({ operation: 'read', path: `${root}/nope.bin` })
      expect((await fails(fs.readText(`${root}/nope.txt`))).problem).toContain('nope.txt')
    })

    it('writing needs the parent directory', async () => {
      const { fs, root } = await setup()
      const e = await fails(fs.writeFile(`${root}/missing/a.txt`, 'x'))
      expect(e.problem).toContain(`${root}/missing/a.txt`)
      await fails(fs.writeFileAtomic(`${root}/missing/b.txt`, 'x'))
      await fails(fs.appendFile(`${root}/missing/c.txt`, 'x'))
      expect(await fs.exists(`${root}/missing/a.txt`)()).toBe(false)
    })

    it('writing over a directory is a FileError', async () => {
      const { fs, root } = await setup()
      await ok(fs.mkdir(`${root}/d`))
      await fails(fs.writeFile(`${root}/d`, 'x'))
      await fails(fs.writeFileAtomic(`${root}/d`, 'x'))
      expect(await ok(fs.list(`${root}/d`))).toEqual([])
    })

    it('mkdir is recursive and idempotent; a file in the way is a FileError', async () => {
      const { fs, root } = await setup()
      await ok(fs.mkdir(`${root}/a/b/c`))
      expect(await fs.exists(`${root}/a`)()).toBe(true)
      expect(await fs.exists(`${root}/a/b`)()).toBe(true)
      expect(await fs.exists(`${root}/a/b/c`)()).toBe(true)
      await ok(fs.mkdir(`${root}/a/b`))
      await ok(fs.writeFile(`${root}/a/b/c/f.txt`, 'f'))
      expect(await ok(fs.readText(`${root}/a/b/c/f.txt`))).toBe('f')
      await fails(fs.mkdir(`${root}/a/b/c/f.txt`))
      await fails(fs.mkdir(`${root}/a/b/c/f.txt/deeper`))
      expect(await ok(fs.readText(`${root}/a/b/c/f.txt`))).toBe('f')
    })

    it('createDir makes one folder and answers whether this call made it; a missing parent or a file in the way is a FileError', async () => {
      const { fs, root } = await setup()
      expect(await ok(fs.createDir(`${root}/v`))).toBe(true)
      expect(await ok(fs.createDir(`${root}/v`))).toBe(false)
      expect(await fs.exists(`${root}/v`)()).toBe(true)
      await fails(fs.createDir(`${root}/missing/v`))
      await ok(fs.writeFile(`${root}/f.txt`, 'f'))
      await fails(fs.createDir(`${root}/f.txt`))
      expect(await ok(fs.readText(`${root}/f.txt`))).toBe('f')
    })

    it('list gives sorted entry names (files and directories), not paths', async () => {
      const { fs, root } = await setup()
      await ok(fs.mkdir(`${root}/z/inner`))
      await ok(fs.writeFile(`${root}/b.txt`, 'b'))
      await ok(fs.writeFile(`${root}/a.txt`, 'a'))
      await ok(fs.writeFile(`${root}/z/inner/deep.txt`, 'd'))
      expect(await ok(fs.list(root))).toEqual(['a.txt', 'b.txt', 'z'])
      expect(await ok(fs.list(`${root}/z`))).toEqual(['inner'])
      const e = await fails(fs.list(`${root}/none`))
      expect(e.problem).toContain(`${root}/none`)
    })

    it('appendFile creates, then appends', async () => {
      const { fs, root } = await setup()
      await ok(fs.appendFile(`${root}/log.csv`, 'a,b\n'))
      await ok(fs.appendFile(`${root}/log.csv`, '1,2\n'))
      await ok(fs.appendFile(`${root}/log.csv`, Uint8Array.from([51, 10])))
      expect(await ok(fs.readText(`${root}/log.csv`))).toBe('a,b\n1,2\n3\n')
    })

    it('writeFileAtomic replaces the contents', async () => {
      const { fs, root } = await setup()
      await ok(fs.writeFileAtomic(`${root}/ckpt.json`, '{"v":1}'))
      await ok(fs.writeFileAtomic(`${root}/ckpt.json`, '{"v":2}'))
      expect(await ok(fs.readText(`${root}/ckpt.json`))).toBe('{"v":2}')
      await ok(fs.writeFileAtomic(`${root}/ckpt.json`, Uint8Array.from([104, 105])))
      expect(await ok(fs.readText(`${root}/ckpt.json`))).toBe('hi')
      expect(await ok(fs.list(root))).toEqual(['ckpt.json'])
    })

    it('rename moves a file (replacing the target); errors name the path', async () => {
      const { fs, root } = await setup()
      await ok(fs.writeFile(`${root}/a`, 'A'))
      await ok(fs.writeFile(`${root}/b`, 'B'))
      await ok(fs.rename(`${root}/a`, `${root}/b`))
      expect(await ok(fs.readText(`${root}/b`))).toBe('A')
      expect(await fs.exists(`${root}/a`)()).toBe(false)
      expect((await fails(fs.rename(`${root}/a`, `${root}/c`))).problem).toContain(`${root}/a`)
      await fails(fs.rename(`${root}/b`, `${root}/missing/b`))
      expect(await ok(fs.readText(`${root}/b`))).toBe('A')
    })

    it('rename moves a directory with its contents', async () => {
      const { fs, root } = await setup()
      await ok(fs.mkdir(`${root}/tmp/sub`))
      await ok(fs.writeFile(`${root}/tmp/sub/w.bin`, 'w'))
      await ok(fs.writeFile(`${root}/tmp/meta.json`, '{}'))
      await ok(fs.rename(`${root}/tmp`, `${root}/final`))
      expect(await fs.exists(`${root}/tmp`)()).toBe(false)
      expect(await ok(fs.list(`${root}/final`))).toEqual(['meta.json', 'sub'])
      expect(await ok(fs.readText(`${root}/final/sub/w.bin`))).toBe('w')
      expect(await ok(fs.list(root))).toEqual(['final'])
    })

    it('remove deletes a file or a whole tree; absent paths are fine', async () => {
      const { fs, root } = await setup()
      await ok(fs.mkdir(`${root}/t/u`))
      await ok(fs.writeFile(`${root}/t/u/x`, 'x'))
      await ok(fs.writeFile(`${root}/t/y`, 'y'))
      await ok(fs.writeFile(`${root}/tz`, 'keep me'))
      await ok(fs.remove(`${root}/t/y`))
      expect(await ok(fs.list(`${root}/t`))).toEqual(['u'])
      await ok(fs.remove(`${root}/t`))
      expect(await fs.exists(`${root}/t`)()).toBe(false)
      expect(await fs.exists(`${root}/t/u/x`)()).toBe(false)
      await fails(fs.list(`${root}/t`))
      // A sibling that merely shares the prefix survives.
      expect(await ok(fs.readText(`${root}/tz`))).toBe('keep me')
      await ok(fs.remove(`${root}/never-was`))
      expect(await ok(fs.list(root))).toEqual(['tz'])
    })

    it('exists tells files and directories from absent paths', async () => {
      const { fs, root } = await setup()
      await ok(fs.writeFile(`${root}/f`, ''))
      expect(await fs.exists(`${root}/f`)()).toBe(true)
      expect(await fs.exists(root)()).toBe(true)
      expect(await fs.exists(`${root}/g`)()).toBe(false)
      expect(Array.from(await ok(fs.readFile(`${root}/f`)))).toEqual([])
    })
  })
}
