import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import type { FileSystem } from '../../src/effects/fileSystem.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { type CheckpointOptions, checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { useBackend } from '../support/backend.js'
import { fakeRun, feed } from '../support/events.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const text = (fs: MemoryFileSystem, path: string): string | undefined => {
  const bytes = fs.files.get(path)
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes)
}

/** The entries of `dir` (checkpoint folders, pointer files, anything else), and what its pointers name. */
const folder = (fs: MemoryFileSystem, dir: string) => ({
  names: [...new Set([...fs.files.keys()].filter((k) => k.startsWith(`${dir}/`)).map((k) => k.slice(dir.length + 1).split('/')[0] ?? ''))].sort(),
  last: text(fs, `${dir}/last.json`),
  best: text(fs, `${dir}/best.json`),
})

const module = lineModule(0.1)
const options: TrainerOptions = { maxEpochs: 3, valCheckInterval: 3, seed: 5, defaultRootDir: '/run' }
/** One hook keeps the latest checkpoint (every 2 steps) and `last`; the other the two best validations (two an epoch). */
const hooks: [CheckpointOptions, CheckpointOptions] = [
  { everyNTrainSteps: 2, saveLast: true },
  { dir: '/run/best', monitor: 'val/loss', saveTopK: 2 },
]

const train = (fs: FileSystem, opts: TrainerOptions, clock = manualClock(0)) =>
  lastValueFrom(fit(module, tinyData(6, 2), opts, { backend, fs, clock, signals: manualSignals() }).pipe(checkpoint(hooks[0]), checkpoint(hooks[1])), { defaultValue: undefined })

class Killed extends Error {}

/** Writes a file, making its folder first. */
const put = async (fs: FileSystem, path: string, data: Uint8Array | string): Promise<void> => {
  await fs.mkdir(path.slice(0, path.lastIndexOf('/')))()
  await fs.writeFile(path, data)()
}

/**
 * `fs`, except that the `n`-th rename for which `hit` holds is where the process dies: `snapshot`
 * then holds the files as a SIGKILL there would leave them (after the call when `after`), and the
 * call fails, which ends the run.
 */
const dyingAt = (fs: MemoryFileSystem, hit: (from: string, to: string) => boolean, n: number, after: boolean) => {
  let count = 0
  const box: { snapshot: MemoryFileSystem | undefined } = { snapshot: undefined }
  const wrapped: FileSystem = {
    ...fs,
    rename: (from, to) => {
      if (!hit(from, to) || ++count !== n) return fs.rename(from, to)
      return async () => {
        if (after) await fs.rename(from, to)()
        box.snapshot = memoryFileSystem(Object.fromEntries(fs.files))
        throw new Killed()
      }
    },
  }
  return { fs: wrapped, box }
}

const base = (path: string) => path.split('/').pop() ?? ''
/** A new checkpoint renamed into place: the pointers have not moved yet, nothing is pruned. */
const renamedIntoPlace = (from: string) => base(from).startsWith('.tmp-') && !base(from).startsWith('.tmp-del-')
/** The pointers moved, the pruning is about to start. */
const pruning = (_: string, to: string) => base(to).startsWith('.tmp-del-')

/** A user's files, and a checkpoint of another run of the same hook, in the checkpoint folder. */
const plant = async (fs: MemoryFileSystem): Promise<void> => {
  const other = memoryFileSystem()
  await train(other, { ...options, maxEpochs: 1 }, manualClock(99))
  for (const [path, bytes] of other.files)
    if (path.startsWith('/run/checkpoints/epoch=0-step=6/')) await put(fs, path.replace('epoch=0-step=6', 'other-run'), bytes)
  await put(fs, '/run/checkpoints/notes.txt', 'mine')
  await put(fs, '/run/checkpoints/mine/manifest.json', '{}')
}

const seeded = async (): Promise<MemoryFileSystem> => {
  const fs = memoryFileSystem()
  await plant(fs)
  return fs
}

describe('a kill between renaming a checkpoint into place and pruning the old one (simulated in memory)', () => {
  it('leaves checkpoints that the resumed run removes: both folders end as an uninterrupted run leaves them, and nobody else’s files are touched', async () => {
    const referenceFs = await seeded()
    await train(referenceFs, options)
    const reference = [folder(referenceFs, '/run/checkpoints'), folder(referenceFs, '/run/best')]
    expect(reference[0]?.names).toContain('other-run')
    expect(reference[0]?.names).toContain('notes.txt')
    expect(reference[1]?.names.length).toBe(3) // two checkpoints and best.json

    let resumed = 0
    for (const [what, hit, after] of [
      ['renamed into place', renamedIntoPlace, true],
      ['pointers moved', pruning, false],
    ] as const) {
      for (let n = 1; ; n++) {
        const disk = await seeded()
        const dying = dyingAt(disk, (from, to) => hit(from, to), n, after)
        await train(dying.fs, options).catch((e: unknown) => {
          if (!(e instanceof Killed)) throw e
        })
        const killed = dying.box.snapshot
        if (killed === undefined) break // the run ended first
        if (!killed.files.has('/run/checkpoints/last.json')) continue // nothing to resume from
        const leftover = [folder(killed, '/run/checkpoints'), folder(killed, '/run/best')]
        await train(killed, { ...options, ckptPath: 'last' })
        resumed++
        const context = `${what}, kill ${n}: left ${JSON.stringify(leftover.map((f) => f.names))}`
        expect([folder(killed, '/run/checkpoints'), folder(killed, '/run/best')], context).toEqual(reference)
        expect(text(killed, '/run/checkpoints/notes.txt')).toBe('mine')
        expect(text(killed, '/run/checkpoints/mine/manifest.json')).toBe('{}')
        expect([...killed.files.keys()].filter((k) => k.startsWith('/run/checkpoints/other-run/')).length).toBe(2)
      }
    }
    expect(resumed).toBeGreaterThan(10)
  }, 60_000)

  it('a run rewound to an older checkpoint (not what last.json names) keeps the checkpoints written after it, as Lightning does', async () => {
    const fs = memoryFileSystem()
    const everyEpoch: CheckpointOptions = { saveTopK: -1, saveLast: true }
    const run = (opts: TrainerOptions) =>
      lastValueFrom(fit(module, tinyData(6, 2), opts, { backend, fs, clock: manualClock(0), signals: manualSignals() }).pipe(checkpoint(everyEpoch)), { defaultValue: undefined })
    await run(options)
    const before = folder(fs, '/run/checkpoints').names.filter((n) => n.startsWith('epoch='))
    expect(before).toEqual(['epoch=0-step=3', 'epoch=0-step=6', 'epoch=1-step=12', 'epoch=1-step=9', 'epoch=2-step=15', 'epoch=2-step=18'])
    await run({ ...options, ckptPath: '/run/checkpoints/epoch=0-step=6' })
    const after = folder(fs, '/run/checkpoints').names.filter((n) => n.startsWith('epoch='))
    // the later results stay; the rewound run's own come beside them
    expect(after).toEqual(expect.arrayContaining(before))
    expect(after.filter((n) => n.endsWith('-v1'))).toEqual(['epoch=1-step=12-v1', 'epoch=1-step=9-v1', 'epoch=2-step=15-v1', 'epoch=2-step=18-v1'])
  })

  it('a run resumed from a checkpoint written before checkpoints carried their lineage removes nothing', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    // an old-format state (no lineage), and a folder it does not count
    await put(fs, '/run/checkpoints/epoch=0-step=4/manifest.json', '{}')
    const restored = { kept: [{ name: 'epoch=1-step=8', score: 8 }], best: 'epoch=1-step=8', last: null, lastGlobalStepSaved: 8, lastTimeSaved: 0 }
    await feed(run, checkpoint(), [() => run.fitStart({}, { hookStates: { checkpoint: restored } })], { fs })
    expect(folder(fs, '/run/checkpoints').names).toEqual(['epoch=0-step=4'])
    run.dispose()
  })
})

describe('an interrupt (SIGINT, SIGTERM) with two checkpoint hooks', () => {
  const periodic: CheckpointOptions = { dir: '/run/periodic', everyNTrainSteps: 2 }
  const best: CheckpointOptions = { monitor: 'val/loss', saveTopK: 1, saveLast: true }
  const trainInterrupted = (fs: MemoryFileSystem, opts: TrainerOptions, interruptAt?: number) => {
    const signals = manualSignals()
    let steps = 0
    return lastValueFrom(
      fit(module, tinyData(6, 2), opts, { backend, fs, clock: manualClock(0), signals }).pipe(
        tap((e) => {
          if (e.type === 'trainStep' && ++steps === interruptAt) signals.raise('SIGINT')
        }),
        checkpoint(periodic),
        checkpoint(best),
      ),
      { defaultValue: undefined },
    )
  }

  it('writes last once, in the folder of the hook that keeps last, which points at it; resuming ends as an uninterrupted run', async () => {
    const referenceFs = memoryFileSystem()
    await trainInterrupted(referenceFs, options)
    const reference = [folder(referenceFs, '/run/checkpoints'), folder(referenceFs, '/run/periodic')]
    expect(reference[1]?.last).toBeUndefined()

    const fs = memoryFileSystem()
    await trainInterrupted(fs, options, 5)
    const keeper = folder(fs, '/run/checkpoints')
    const other = folder(fs, '/run/periodic')
    expect(keeper.names.filter((n) => n.startsWith('last-'))).toEqual(['last-epoch=0-step=5'])
    expect(keeper.last).toBe(`${JSON.stringify({ checkpoint: 'last-epoch=0-step=5' })}\n`)
    expect(other.names.filter((n) => n.startsWith('last'))).toEqual([])
    expect(other.last).toBeUndefined()

    await trainInterrupted(fs, { ...options, ckptPath: 'last' })
    expect([folder(fs, '/run/checkpoints'), folder(fs, '/run/periodic')]).toEqual(reference)
  })

  it('the hook that saves is the first that keeps last, else the first that saves on an interrupt', async () => {
    const cases: [CheckpointOptions[], string][] = [
      [[{ dir: '/a' }, { dir: '/b', saveLast: true }], '/b'],
      [[{ dir: '/a' }, { dir: '/b' }], '/a'],
      [[{ dir: '/a', saveLast: true }, { dir: '/b', saveLast: true }], '/a'],
      [[{ dir: '/a', saveOnInterrupt: false }, { dir: '/b' }, { dir: '/c' }], '/b'],
    ]
    for (const [hooksOptions, saver] of cases) {
      const fs = memoryFileSystem()
      const run = fakeRun()
      await feed(run, (s) => hooksOptions.reduce((acc, o) => acc.pipe(checkpoint(o)), s), [() => run.fitStart(), () => run.fitEnd('interrupted', 0, 3)], { fs })
      for (const o of hooksOptions) {
        const written = folder(fs, o.dir ?? '')
        expect(written.names, `${JSON.stringify(hooksOptions)}: ${o.dir}`).toEqual(o.dir === saver ? ['last-epoch=0-step=3', 'last.json'] : [])
      }
      run.dispose()
    }
  })
})
