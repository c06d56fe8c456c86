import * as E from 'fp-ts/lib/Either.js'
import { asyncScheduler, concatMap, delay, lastValueFrom, type MonoTypeOperatorFunction, type Observable, observeOn, of, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { manualClock } from '../../src/effects/clock.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { replayEvents } from '../../src/flow/replayEvents.js'
import { type CheckpointOptions, checkpoint, checkpointHookState } from '../../src/hooks/checkpoint/checkpoint.js'
import { formatCheckpointName, formatNumber } from '../../src/hooks/checkpoint/filename.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import { type FakeRun, fakeRun, feed } from '../support/events.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** The checkpoints (and pointer files) in `dir`. */
const names = (fs: MemoryFileSystem, dir = '/run/checkpoints') =>
  [...new Set([...fs.files.keys()].filter((k) => k.startsWith(`${dir}/`)).map((k) => k.slice(dir.length + 1).split('/')[0] ?? ''))].sort()

/**
 * Which events make the hook save: each event (one letter of `input`, made by `make`) becomes its
 * type's letter (F fitStart, t trainStep, v validationEnd, E epochEnd, Z fitEnd), or S when a new
 * checkpoint was on disk once the event was settled.
 */
const decisions = async (options: CheckpointOptions, input: string, make: (run: FakeRun) => Record<string, () => FitEvent>, expected: string) => {
  const run = fakeRun()
  const fs = memoryFileSystem()
  const values = make(run)
  const letters: Record<string, string> = { fitStart: 'F', trainStep: 't', validationEnd: 'v', epochEnd: 'E', fitEnd: 'Z' }
  const seen: string[] = []
  let before = new Set<string>()
  await lastValueFrom(
    replayEvents<FitEvent>(
      [...input].map((c) => values[c] as () => FitEvent),
      {
        env: { fs },
        onSettled: (e) => {
          const now = new Set(names(fs))
          seen.push([...now].some((n) => !before.has(n) && !n.endsWith('.json')) ? 'S' : (letters[e.type] ?? '?'))
          before = now
        },
      },
    ).pipe(checkpoint(options)),
    { defaultValue: undefined },
  )
  run.dispose()
  expect(seen.join('')).toBe(expected)
}

describe('when checkpoints are saved (hand-made events)', () => {
  const epochs = (run: FakeRun) => ({
    F: () => run.fitStart(),
    a: () => run.epochEnd(0, 4, {}, { 'val/loss': 0.5 }),
    b: () => run.epochEnd(1, 8, {}, { 'val/loss': 0.4 }),
    c: () => run.epochEnd(2, 12, {}, { 'val/loss': 0.45 }),
    d: () => run.epochEnd(3, 16, {}, { 'val/loss': 0.3 }),
  })

  it('every epoch by default (validation once per epoch: at epoch end)', () =>
    decisions({}, 'Fabcd', epochs, 'FSSSS'))
  it('everyNEpochs: 2 saves after epochs 2 and 4', () => decisions({ everyNEpochs: 2 }, 'Fabcd', epochs, 'FESES'))
  it('with a monitor, only checkpoints that enter the top k are written', () =>
    decisions({ monitor: 'val/loss', saveTopK: 1 }, 'Fabcd', epochs, 'FSSES'))
  it('a larger k admits what beats its worst member', () => decisions({ monitor: 'val/loss', saveTopK: 2 }, 'Fabcd', epochs, 'FSSSS'))
  it('saveTopK: 1 in max mode writes only improvements', () =>
    decisions({ monitor: 'val/loss', mode: 'max', saveTopK: 1 }, 'Fabcd', epochs, 'FSEEE'))
  it('saveTopK: 0 with saveLast still writes every time (the last pointer moves)', () =>
    decisions({ saveTopK: 0, saveLast: true }, 'Fabcd', epochs, 'FSSSS'))
  it('saveTopK: 0 without saveLast writes nothing', () => decisions({ saveTopK: 0 }, 'Fabcd', epochs, 'FEEEE'))

  const steps = (run: FakeRun) => ({
    F: () => run.fitStart(),
    a: () => run.trainStep(0, 0, 1),
    b: () => run.trainStep(0, 1, 2),
    c: () => run.trainStep(0, 2, 3),
    d: () => run.trainStep(0, 3, 4),
    e: () => run.epochEnd(0, 4),
  })
  it('everyNTrainSteps: 2 saves at steps 2 and 4, not at epoch end (no epoch trigger then)', () =>
    decisions({ everyNTrainSteps: 2 }, 'Fabcde', steps, 'FtStSE'))
  it('everyNTrainSteps with everyNEpochs: 1 saves at epoch end only if the step has not been saved yet', () =>
    decisions({ everyNTrainSteps: 3, everyNEpochs: 1 }, 'Fabcde', steps, 'FttStS'))
  it('trainTimeInterval saves when that much time has passed since the last save', async () => {
    const timed = (run: FakeRun) => ({
      F: () => run.fitStart(),
      a: () => run.trainStep(0, 0, 1, {}, 1500),
      b: () => run.trainStep(0, 1, 2, {}, 2100),
      c: () => run.trainStep(0, 2, 3, {}, 2500),
      d: () => run.trainStep(0, 3, 4, {}, 3200),
    })
    await decisions({ trainTimeInterval: 1000 }, 'Fabcd', timed, 'FtStS')
  })
  it('validation several times per epoch: saves after each validation, not at epoch end', async () => {
    const vals = (run: FakeRun) => ({
      F: () => run.fitStart({ valCheckBatch: 2 }),
      a: () => run.validationEnd(0, 1, 2, { 'val/loss': 0.4 }),
      b: () => run.validationEnd(0, 3, 4, { 'val/loss': 0.3 }),
      c: () => run.epochEnd(0, 4, {}, { 'val/loss': 0.3 }),
    })
    await decisions({ monitor: 'val/loss' }, 'Fabc', vals, 'FSSE')
  })
  it('an interrupted run (fitEnd interrupted) saves a last checkpoint (unless saveOnInterrupt: false); a finished one does not', async () => {
    const ends = (run: FakeRun) => ({ F: () => run.fitStart(), z: () => run.fitEnd('interrupted', 1, 6), y: () => run.fitEnd('maxEpochs', 1, 6) })
    await decisions({}, 'Fz', ends, 'FS')
    await decisions({}, 'Fy', ends, 'FZ')
    await decisions({ saveOnInterrupt: false }, 'Fz', ends, 'FZ')
  })
  it('fastDevRun saves nothing', async () => {
    const dev = (run: FakeRun) => ({ F: () => run.fitStart({ fastDevRun: true }), a: () => run.epochEnd(0, 4) })
    await decisions({}, 'Fa', dev, 'FE')
  })
})

describe('what is on disk (in-memory file system)', () => {
  it('keeps the top k by the monitor, points best at the best, and deletes what falls out', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    const scores = [0.5, 0.3, 0.4, 0.2, 0.6]
    await feed(run, checkpoint({ monitor: 'val/score', saveTopK: 2, filename: '{epoch}-{val/score:.2f}' }), [
      () => run.fitStart(),
      ...scores.map((s, e) => () => run.epochEnd(e, 4 * (e + 1), {}, { 'val/score': s })),
    ], { fs })
    expect(names(fs)).toEqual(['best.json', 'epoch=1-val_score=0.30', 'epoch=3-val_score=0.20'])
    expect(JSON.parse(new TextDecoder().decode(fs.files.get('/run/checkpoints/best.json')))).toEqual({ checkpoint: 'epoch=3-val_score=0.20' })
    const loaded = await loadCheckpoint(fs, '/run/checkpoints/best')()
    expect(E.isRight(loaded) && loaded.right.manifest.meta).toMatchObject({ epoch: 3, score: 0.2, monitor: 'val/score' })
    if (E.isRight(loaded)) {
      // the checkpoint stores this hook's own state, with itself in it
      expect(loaded.right.hookStates.checkpoint).toMatchObject({ best: 'epoch=3-val_score=0.20', last: null })
      loaded.right.state.params.w !== undefined && (loaded.right.state.params.w as { dispose(): void }).dispose()
    }
    run.dispose()
  })

  it('saveLast keeps a last pointer at the newest checkpoint and prunes the last-only one it leaves', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await feed(run, checkpoint({ monitor: 'val/score', saveTopK: 1, saveLast: true }), [
      () => run.fitStart(),
      () => run.epochEnd(0, 4, {}, { 'val/score': 0.5 }),
      () => run.epochEnd(1, 8, {}, { 'val/score': 0.7 }), // not better: a last-only checkpoint
      () => run.epochEnd(2, 12, {}, { 'val/score': 0.9 }), // last-only too; the one from epoch 1 goes
    ], { fs })
    expect(names(fs)).toEqual(['best.json', 'epoch=0-step=4', 'last-epoch=2-step=12', 'last.json'])
    expect(JSON.parse(new TextDecoder().decode(fs.files.get('/run/checkpoints/last.json')))).toEqual({ checkpoint: 'last-epoch=2-step=12' })
    run.dispose()
  })

  it('an interrupted run (fitEnd interrupted) saves a last checkpoint, even before its template metrics exist', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await feed(run, checkpoint({ monitor: 'val/loss', filename: '{epoch}-{val/loss:.3f}' }), [() => run.fitStart(), () => run.fitEnd('interrupted', 0, 3)], { fs })
    expect(names(fs)).toEqual(['last-epoch=0-step=3', 'last.json'])
    run.dispose()
  })

  it('without a monitor, saveTopK: 1 keeps the latest; -1 keeps all; best is the latest (as in Lightning)', async () => {
    for (const [k, expected] of [
      [1, ['best.json', 'epoch=2-step=12']],
      [-1, ['best.json', 'epoch=0-step=4', 'epoch=1-step=8', 'epoch=2-step=12']],
    ] as const) {
      const fs = memoryFileSystem()
      const run = fakeRun()
      await feed(run, checkpoint({ saveTopK: k }), [() => run.fitStart(), ...[0, 1, 2].map((e) => () => run.epochEnd(e, 4 * (e + 1)))], { fs })
      expect(names(fs)).toEqual(expected)
      run.dispose()
    }
  })

  it('never overwrites: a name already in the directory gets -v1', async () => {
    const fs = memoryFileSystem({ '/run/checkpoints/epoch=0-step=4/manifest.json': '{}' })
    const run = fakeRun()
    await feed(run, checkpoint({ saveTopK: -1 }), [() => run.fitStart(), () => run.epochEnd(0, 4)], { fs })
    expect(names(fs)).toEqual(['best.json', 'epoch=0-step=4', 'epoch=0-step=4-v1'])
    run.dispose()
  })

  it('clears half-written temporary directories left by a crash', async () => {
    const fs = memoryFileSystem({ '/run/checkpoints/.tmp-epoch=9-step=1/tensors.bin': 'xx', '/run/checkpoints/.last.json.77.3.tmp': '{' })
    const run = fakeRun()
    await feed(run, checkpoint(), [() => run.fitStart()], { fs })
    expect(names(fs)).toEqual([])
    run.dispose()
  })

  it('restores its state on resume: the top k continues from the checkpoint', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    const restored = { kept: [{ name: 'old-best', score: 0.1 }], best: 'old-best', last: null, lastGlobalStepSaved: 8, lastTimeSaved: 0 }
    await feed(run, checkpoint({ monitor: 'val/score', saveTopK: 1 }), [
      () => run.fitStart({}, { hookStates: { checkpoint: restored } }),
      () => run.epochEnd(2, 12, {}, { 'val/score': 0.2 }), // worse than the restored best: not saved
    ], { fs })
    expect(names(fs)).toEqual([])
    run.dispose()
  })

  it('a monitor that is never logged is a ConfigError once validation has run', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await expect(
      feed(run, checkpoint({ monitor: 'val/acc' }), [() => run.fitStart(), () => run.validationEnd(0, 3, 4, { 'val/loss': 1 }), () => run.epochEnd(0, 4, {}, { 'val/loss': 1 })], { fs }),
    ).rejects.toThrow(/checkpoint monitor 'val\/acc' was not logged[\s\S]*val\/loss/)
    run.dispose()
  })

  it('rejects impossible options at once', () => {
    expect(() => checkpoint({ saveTopK: 3 })).toThrow(/needs a monitor/)
    expect(() => checkpoint({ saveTopK: -2 })).toThrow(/saveTopK must be an integer >= -1/)
  })
})

describe('with other hooks in the pipe', () => {
  it('a checkpoint holds the states of the hooks after it, and the stop one of them asked for at that event', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await feed(
      run,
      (s) => s.pipe(checkpoint({ saveLast: true }), earlyStopping({ monitor: 'val/loss', stoppingThreshold: 1 })),
      [() => run.fitStart(), () => run.epochEnd(0, 4, {}, { 'val/loss': 0.5 })],
      { fs },
    )
    expect(run.stops).toEqual(['Stopping threshold reached: val/loss = 0.5 < 1. Signaling Trainer to stop.'])
    const loaded = await loadCheckpoint(fs, '/run/checkpoints/last')()
    expect(E.isRight(loaded)).toBe(true)
    if (E.isRight(loaded)) {
      expect(loaded.right.loop?.stopReason).toBe(run.stops[0])
      expect(loaded.right.hookStates.earlyStopping).toMatchObject({ best: null, stoppedEpoch: 0 })
      expect(checkpointHookState(loaded.right.hookStates)).toEqual(
        E.right({ kept: [{ name: 'epoch=0-step=4', score: 4 }], best: 'epoch=0-step=4', last: 'epoch=0-step=4', lastGlobalStepSaved: 4, lastTimeSaved: 1010 }),
      )
      disposeTree(loaded.right.state)
    }
    run.dispose()
  })

  it('two checkpoint hooks keep their states under checkpoint and checkpoint#2, each in its own dir', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await feed(
      run,
      (s) => s.pipe(checkpoint({ saveTopK: -1 }), checkpoint({ dir: '/run/periodic', everyNEpochs: 2 })),
      [() => run.fitStart(), () => run.epochEnd(0, 4), () => run.epochEnd(1, 8)],
      { fs },
    )
    expect(names(fs)).toEqual(['best.json', 'epoch=0-step=4', 'epoch=1-step=8'])
    expect(names(fs, '/run/periodic')).toEqual(['best.json', 'epoch=1-step=8'])
    const states = Object.fromEntries(run.hookStates)
    expect(E.map((h: { lastGlobalStepSaved: number }) => h.lastGlobalStepSaved)(checkpointHookState(states))).toEqual(E.right(8))
    expect(checkpointHookState(states, 'checkpoint#2')).toEqual(
      E.right({ kept: [{ name: 'epoch=1-step=8', score: 8 }], best: 'epoch=1-step=8', last: null, lastGlobalStepSaved: 8, lastTimeSaved: 1020 }),
    )
    expect(checkpointHookState(states, 'checkpoint#3')).toEqual(E.left("no checkpoint hook state named 'checkpoint#3'"))
    run.dispose()
  })

  it('two checkpoint hooks writing into one dir are a ConfigError', async () => {
    const run = fakeRun()
    await expect(
      feed(run, (s) => s.pipe(checkpoint(), checkpoint({ monitor: 'val/loss' })), [() => run.fitStart(), () => run.epochEnd(0, 4)], { fs: memoryFileSystem() }),
    ).rejects.toThrow(/ConfigError: checkpoint hooks 'checkpoint' and 'checkpoint#2' both write into \/run\/checkpoints/)
    run.dispose()
  })
})

describe('in a real run', () => {
  const options: TrainerOptions = { maxEpochs: 4, seed: 7, defaultRootDir: '/run' }
  const module = lineModule(0.1)

  /** Trains into `fs` (interrupted after `interruptAfter` steps, if given); answers the trained parameters. */
  const train = async (fs: MemoryFileSystem, opts: TrainerOptions, interruptAfter?: number) => {
    const signals = manualSignals()
    let steps = 0
    const model = await lastValueFrom(
      fit(module, tinyData(4, 2), opts, { backend, fs, signals, clock: manualClock(0) }).pipe(
        tap((e) => {
          if (e.type === 'trainStep' && ++steps === interruptAfter) signals.raise('SIGINT')
        }),
        checkpoint({ monitor: 'val/loss', saveTopK: 2, saveLast: true, everyNTrainSteps: 3 }),
        trainedModel(),
      ),
    )
    const values = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
    disposeTree(model)
    return values
  }
  const hookStateAt = async (fs: MemoryFileSystem, path: string) => {
    const loaded = await loadCheckpoint(fs, path)()
    if (E.isLeft(loaded)) throw loaded.left
    disposeTree(loaded.right.state)
    return checkpointHookState(loaded.right.hookStates)
  }

  it("resumes from what it wrote into the run's file system (ckptPath 'last' with the same fs), to the same parameters and hook state", async () => {
    const fullFs = memoryFileSystem()
    const full = await train(fullFs, options)
    const fs = memoryFileSystem()
    await train(fs, options, 6)
    expect(JSON.parse(new TextDecoder().decode(fs.files.get('/run/checkpoints/last.json')))).toEqual({ checkpoint: 'last-epoch=1-step=6' })
    const resumed = await train(fs, { ...options, ckptPath: 'last' })
    expect(resumed).toEqual(full)
    expect(await hookStateAt(fs, '/run/checkpoints/last')).toEqual(await hookStateAt(fullFs, '/run/checkpoints/last'))
    expect(names(fs)).toEqual(names(fullFs))
  })

  it('writes byte-identical checkpoints behind observeOn(asyncScheduler), before it and before a hook after it', async () => {
    // Early stopping after it stops the run at the second epoch end, where a checkpoint is written: the checkpoint holds its stop and state.
    const write = async (...around: MonoTypeOperatorFunction<FitEvent>[]) => {
      const fs = memoryFileSystem()
      const [before = (s: Observable<FitEvent>) => s, after = (s: Observable<FitEvent>) => s] = around
      await lastValueFrom(
        fit(module, tinyData(4, 2), options, { backend, fs, signals: manualSignals(), clock: manualClock(0) }).pipe(
          before,
          checkpoint({ monitor: 'val/loss', saveTopK: 2, saveLast: true }),
          after,
          earlyStopping({ monitor: 'val/loss', patience: 1, minDelta: 10 }),
        ),
        { defaultValue: undefined },
      )
      return fs
    }
    const plainFs = await write()
    const loaded = await loadCheckpoint(plainFs, '/run/checkpoints/last')()
    expect(E.isRight(loaded) && loaded.right.loop?.stopReason).toMatch(/did not improve in the last 1 records/)
    expect(E.isRight(loaded) && loaded.right.hookStates.earlyStopping).toMatchObject({ wait: 1, stoppedEpoch: 1 })
    if (E.isRight(loaded)) disposeTree(loaded.right.state)
    for (const asyncFs of [await write(observeOn(asyncScheduler), observeOn(asyncScheduler)), await write(concatMap((e) => of(e).pipe(delay(0))))]) {
      expect([...asyncFs.files.keys()].sort()).toEqual([...plainFs.files.keys()].sort())
      for (const [path, bytes] of plainFs.files) expect(Buffer.from(asyncFs.files.get(path) ?? []).equals(Buffer.from(bytes)), path).toBe(true)
    }
    expect(names(plainFs)).toEqual(['best.json', 'epoch=0-step=4', 'epoch=1-step=8', 'last.json'])
  })
})

describe('filename templates', () => {
  it("format numbers like Lightning's Python specs", () => {
    expect(formatNumber(0.123456, '.4f')).toBe('0.1235')
    expect(formatNumber(7, '03d')).toBe('007')
    expect(formatNumber(1234.5, '.2e')).toBe('1.23e+03')
    expect(formatNumber(3, '')).toBe('3')
  })
  it('insert metric names, replace / and list what is available when a name is unknown', () => {
    expect(formatCheckpointName('{epoch}-{step}-{val/loss:.4f}', { epoch: 2, step: 100, 'val/loss': 0.31234 })).toBe('epoch=2-step=100-val_loss=0.3123')
    expect(formatCheckpointName('model-{epoch:02d}', { epoch: 2 }, false)).toBe('model-02')
    expect(() => formatCheckpointName('{val/acc}', { epoch: 1, step: 2 })).toThrow(/'val\/acc', which has not been logged[\s\S]*epoch, step/)
  })
})
