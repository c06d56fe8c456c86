import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { conflictsOf, pointsOf, readEventDir, tensorboardView } from '../support/tfEvents.js'

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'killedTraining.ts')
const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'rxtrain-kill-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Runs the fixture (see test/fixtures/killedTraining.ts): how it ended, and what it printed. */
const runFixture = (dir: string, kill: string, resume: boolean): Promise<{ signal: NodeJS.Signals | null; out: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, kill, ...(resume ? ['resume'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => (code !== 0 && signal === null ? reject(new Error(`fixture failed (${code}): ${err}`)) : resolve({ signal, out })))
  })

/** The checkpoint folders (and anything else) of both checkpoint hooks, and what their pointers name. */
const folders = (dir: string) =>
  Object.fromEntries(
    ['checkpoints', 'best'].map((sub) => {
      const names = readdirSync(join(dir, sub)).sort()
      const pointer = (p: string) => (names.includes(`${p}.json`) ? readFileSync(join(dir, sub, `${p}.json`), 'utf8') : undefined)
      return [sub, { names, last: pointer('last'), best: pointer('best') }]
    }),
  )

describe('SIGKILL, then resume from last (child processes)', () => {
  it('the run ends with the TensorBoard points, the checkpoint folders and the parameters of an uninterrupted run', async () => {
    const reference = await runFixture(tempDir(), 'none', false)
    const referenceDir = dirs[0] as string
    const expectedDone = /done [0-9a-f]{64}/.exec(reference.out)?.[0]
    expect(expectedDone).toBeDefined()
    const referencePoints = pointsOf(await readEventDir(nodeFileSystem, join(referenceDir, 'tb')))
    expect(referencePoints.size).toBe(24) // 18 steps, 6 validations
    const referenceFolders = folders(referenceDir)

    const dir = tempDir()
    // Killed just after a new checkpoint took its name (pointers not moved), just before an old one
    // was pruned (pointers moved), and between two steps with rows buffered since the epoch began.
    const kills = ['renamed:3', 'pruning:2', 'event:20']
    for (const [i, kill] of kills.entries()) {
      const killed = await runFixture(dir, kill, i > 0)
      expect(killed.signal, kill).toBe('SIGKILL')
    }
    const finished = await runFixture(dir, 'none', true)
    expect(finished.out).toContain(expectedDone)

    const files = await readEventDir(nodeFileSystem, join(dir, 'tb'))
    expect(files).toHaveLength(kills.length + 1)
    const union = pointsOf(files)
    expect([...referencePoints].filter((p) => !union.has(p)), 'missing').toEqual([])
    expect([...union].filter((p) => !referencePoints.has(p)), 'extra').toEqual([])
    expect(conflictsOf(files)).toEqual([])
    expect(tensorboardView(files)).toEqual(referencePoints)
    expect(folders(dir)).toEqual(referenceFolders)
  }, 120_000)
})
