import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { nodeFileSystem as fs } from '../../src/effects/nodeFileSystem.js'
import { fails, fileSystemContract, ok } from './fileSystemContract.js'

const temps: string[] = []
const tempDir = (): string => {
  const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-fs-'))
  temps.push(dir)
  return dir
}
afterAll(() => {
  for (const d of temps) nodeFs.rmSync(d, { recursive: true, force: true })
})

fileSystemContract('nodeFileSystem', async () => ({ fs, root: tempDir() }))

describe('nodeFileSystem', () => {
  it('writes real files', async () => {
    const root = tempDir()
    await ok(fs.writeFile(`${root}/a.txt`, 'on disk'))
    expect(nodeFs.readFileSync(`${root}/a.txt`, 'utf8')).toBe('on disk')
  })

  it('writeFileAtomic leaves no temporary files behind', async () => {
    const root = tempDir()
    for (let i = 0; i < 5; i++) await ok(fs.writeFileAtomic(`${root}/last.ckpt`, `gen ${i}`))
    expect(nodeFs.readdirSync(root)).toEqual(['last.ckpt'])
    expect(nodeFs.readFileSync(`${root}/last.ckpt`, 'utf8')).toBe('gen 4')
  })

  it('a failed writeFileAtomic keeps the old target and leaves no temporary file', async () => {
    const root = tempDir()
    nodeFs.mkdirSync(`${root}/target`)
    nodeFs.writeFileSync(`${root}/target/inside`, 'old')
    const e = await fails(fs.writeFileAtomic(`${root}/target`, 'new'))
    expect(e.problem).toContain(`${root}/target`)
    expect(nodeFs.readdirSync(root)).toEqual(['target'])
    expect(nodeFs.readFileSync(`${root}/target/inside`, 'utf8')).toBe('old')
  })

  it('errors keep the cause (ENOENT) and name the operation', async () => {
    const root = tempDir()
    const e = await fails(fs.readFile(`${root}/missing.bin`))
    expect(e.problem).toMatch(/ENOENT/)
    expect(e.details).toMatchObject({ operation: 'read' })
    const r = await fails(fs.rename(`${root}/x`, `${root}/y`))
    expect(r.problem).toContain(`${root}/x`)
    expect(r.details).toMatchObject({ operation: 'rename' })
  })
})
