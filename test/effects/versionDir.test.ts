import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { latestVersionDir, nextVersionDir, versionDirs } from '../../src/effects/versionDir.js'

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw e.left
  return e.right
}

const temps: string[] = []
const tempRoot = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'rxtrain-versions-'))
  temps.push(dir)
  return dir
}
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('nextVersionDir claims a run folder', () => {
  it('numbers one past the highest present and creates the folder, the root too', async () => {
    const fs = memoryFileSystem({ 'runs/version_3/metrics.csv': 'x', 'runs/notes/a.txt': 'y' })
    expect(right(await nextVersionDir(fs, 'runs')())).toBe('runs/version_4')
    expect(right(await nextVersionDir(fs, 'runs')())).toBe('runs/version_5')
    expect(right(await fs.list('runs')())).toEqual(['notes', 'version_3', 'version_4', 'version_5'])
    expect(right(await nextVersionDir(fs, 'fresh/root')())).toBe('fresh/root/version_0')
    expect(await fs.exists('fresh/root/version_0')()).toBe(true)
    expect(right(await latestVersionDir(fs, 'runs')())).toBe('runs/version_5')
    expect(right(await versionDirs(fs, 'runs')())).toEqual(['runs/version_5', 'runs/version_4', 'runs/version_3'])
    expect(right(await versionDirs(fs, 'absent')())).toEqual([])
  })

  it('gives each of several claims started at once a folder of its own (node file system)', async () => {
    const root = tempRoot()
    const dirs = await Promise.all(Array.from({ length: 8 }, () => nextVersionDir(nodeFileSystem, root)()))
    const claimed = dirs.map(right)
    expect(new Set(claimed).size).toBe(8)
    expect(readdirSync(root).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `version_${i}`).sort())
  })

  it('gives runs in separate processes started at once distinct folders', async () => {
    const root = tempRoot()
    const module = fileURLToPath(new URL('../../src/effects/versionDir.ts', import.meta.url))
    const fsModule = fileURLToPath(new URL('../../src/effects/nodeFileSystem.ts', import.meta.url))
    const script = `const { nextVersionDir } = await import(${JSON.stringify(module)}); const { nodeFileSystem } = await import(${JSON.stringify(fsModule)}); const d = await nextVersionDir(nodeFileSystem, ${JSON.stringify(root)})(); console.log(d._tag === 'Right' ? d.right : 'failed')`
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    const outputs = await Promise.all([run(), run(), run(), run()])
    const claimed = outputs.map((o) => o.stdout.trim())
    expect(new Set(claimed).size).toBe(4)
    expect(claimed.every((d) => d.startsWith(`${root}/version_`))).toBe(true)
    expect(readdirSync(root).length).toBe(4)
  }, 60_000)
})
