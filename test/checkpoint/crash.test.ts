import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { disposeTree } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'crashTraining.ts')
const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'rxtrain-crash-'))
  dirs.push(d)
  return d
}

beforeAll(async () => {
  await useBackend('cpu')
})
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

interface Outcome {
  readonly lines: string[]
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Runs the fixture; with `killAfterMs`, SIGKILLs it that long after its first step. */
const runFixture = (dir: string, resume: boolean, killAfterMs?: number): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, dir, ...(resume ? ['resume'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let stderr = ''
    let armed = false
    child.stdout?.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''))
      if (killAfterMs !== undefined && !armed && lines.some((l) => l.startsWith('step'))) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`fixture failed (${code}): ${stderr}`))
      else resolve({ lines, code, signal })
    })
  })

/** The global step of the newest complete checkpoint, or -1 when none was completed yet. */
const lastStep = async (dir: string): Promise<number> => {
  if (!existsSync(join(dir, 'checkpoints', 'last.json'))) return -1
  const loaded = await loadCheckpoint(nodeFileSystem, join(dir, 'checkpoints', 'last'))()
  if (E.isLeft(loaded)) throw loaded.left
  const step = loaded.right.loop?.globalStep ?? -1
  disposeTree(loaded.right.state)
  return step
}

describe('killing a run (SIGKILL) while it writes checkpoints', () => {
  it('always leaves a loadable newest checkpoint, and the resumed runs end bitwise where an unkilled run ends', async () => {
    const reference = await runFixture(tempDir(), false)
    const expected = reference.lines.find((l) => l.startsWith('done'))
    expect(expected).toMatch(/^done [0-9a-f]{64}$/)

    const dir = tempDir()
    let previous = -1
    let kills = 0
    let caughtMidWrite = 0
    // A deterministic spread of kill moments over a few writes each (every step writes a ~2 MB checkpoint).
    const delays = [40, 170, 95, 260, 15, 330, 120, 210, 60, 150]
    for (const delay of delays) {
      const outcome = await runFixture(dir, previous >= 0, delay)
      if (outcome.signal === 'SIGKILL') kills++
      else break // it finished before the kill
      const step = await lastStep(dir)
      // the newest complete checkpoint loads, and never goes backwards
      expect(step).toBeGreaterThanOrEqual(previous)
      previous = step
      // half-written files are only ever hidden temporaries (removed when the next run starts)
      for (const name of existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')) : []) {
        expect(name).toMatch(/^(epoch=\d+-step=\d+(-v\d+)?|last\.json|best\.json|\.tmp-.*|\..*\.tmp)$/)
        if (name.startsWith('.tmp-') || name.endsWith('.tmp')) caughtMidWrite++
      }
    }
    expect(kills).toBeGreaterThanOrEqual(5)
    console.info(`crash test: ${kills} kills, ${caughtMidWrite} of them in the middle of a checkpoint write`)
    const finished = await runFixture(dir, previous >= 0)
    expect(finished.lines.find((l) => l.startsWith('done'))).toBe(expected)
  }, 240_000)
})
