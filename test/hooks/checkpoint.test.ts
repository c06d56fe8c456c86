import * as E from 'fp-ts/lib/Either.js'
import { map } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { type CheckpointOptions, checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { formatCheckpointName, formatNumber } from '../../src/hooks/checkpoint/filename.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { useBackend } from '../support/backend.js'
import { type FakeRun, fakeRun, feed } from '../support/events.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/**
 * Which events make the hook save: each event becomes its letter (F fitStart, t trainStep,
 * v validationEnd, E epochEnd, Z fitEnd), or S when the hook held the stream to save.
 */
const decisions = (options: CheckpointOptions, input: string, make: (run: FakeRun) => Record<string, () => FitEvent>, expected: string) => {
  const run = fakeRun()
  const values = make(run)
  new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
    const events = cold(input, values).pipe(map((f) => f()))
    let i = 0
    const letters = { fitStart: 'F', trainStep: 't', validationEnd: 'v', epochEnd: 'E', fitEnd: 'Z' } as Record<string, string>
    expectObservable(
      events.pipe(
        checkpoint({ fs: memoryFileSystem(), ...options }),
        map((e) => (run.held.has(i++) && e.type !== 'fitStart' ? 'S' : (letters[e.type] ?? '?'))),
      ),
    ).toBe(expected)
  })
  run.dispose()
}

describe('when checkpoints are saved (marble tests on hand-made events)', () => {
  const epochs = (run: FakeRun) => ({
    F: () => run.fitStart(),
    a: () => run.epochEnd(0, 4, {}, { 'val/loss': 0.5 }),
    b: () => run.epochEnd(1, 8, {}, { 'val/loss': 0.4 }),
    c: () => run.epochEnd(2, 12, {}, { 'val/loss': 0.45 }),
    d: () => run.epochEnd(3, 16, {}, { 'val/loss': 0.3 }),
  })

  it('every epoch by default (validation once per epoch: at epoch end)', () =>
    decisions({}, 'F a b c d|', epochs, 'F S S S S|'))
  it('everyNEpochs: 2 saves after epochs 2 and 4', () => decisions({ everyNEpochs: 2 }, 'F a b c d|', epochs, 'F E S E S|'))
  it('with a monitor, only checkpoints that enter the top k are written', () =>
    decisions({ monitor: 'val/loss', saveTopK: 1 }, 'F a b c d|', epochs, 'F S S E S|'))
  it('a larger k admits what beats its worst member', () => decisions({ monitor: 'val/loss', saveTopK: 2 }, 'F a b c d|', epochs, 'F S S S S|'))
  it('saveTopK: 1 in max mode writes only improvements', () =>
    decisions({ monitor: 'val/loss', mode: 'max', saveTopK: 1 }, 'F a b c d|', epochs, 'F S E E E|'))
  it('saveTopK: 0 with saveLast still writes every time (the last pointer moves)', () =>
    decisions({ saveTopK: 0, saveLast: true }, 'F a b c d|', epochs, 'F S S S S|'))
  it('saveTopK: 0 without saveLast writes nothing', () => decisions({ saveTopK: 0 }, 'F a b c d|', epochs, 'F E E E E|'))

  const steps = (run: FakeRun) => ({
    F: () => run.fitStart(),
    a: () => run.trainStep(0, 0, 1),
    b: () => run.trainStep(0, 1, 2),
    c: () => run.trainStep(0, 2, 3),
    d: () => run.trainStep(0, 3, 4),
    e: () => run.epochEnd(0, 4),
  })
  it('everyNTrainSteps: 2 saves at steps 2 and 4, not at epoch end (no epoch trigger then)', () =>
    decisions({ everyNTrainSteps: 2 }, 'F a b c d e|', steps, 'F t S t S E|'))
  it('everyNTrainSteps with everyNEpochs: 1 saves at epoch end only if the step has not been saved yet', () =>
    decisions({ everyNTrainSteps: 3, everyNEpochs: 1 }, 'F a b c d e|', steps, 'F t t S t S|'))
  it('trainTimeInterval saves when that much time has passed since the last save', () => {
    const timed = (run: FakeRun) => ({
      F: () => run.fitStart(),
      a: () => run.trainStep(0, 0, 1, {}, 1500),
      b: () => run.trainStep(0, 1, 2, {}, 2100),
      c: () => run.trainStep(0, 2, 3, {}, 2500),
      d: () => run.trainStep(0, 3, 4, {}, 3200),
    })
    decisions({ trainTimeInterval: 1000 }, 'F a b c d|', timed, 'F t S t S|')
  })
  it('validation several times per epoch: saves after each validation, not at epoch end', () => {
    const vals = (run: FakeRun) => ({
      F: () => run.fitStart({ valCheckBatch: 2 }),
      a: () => run.validationEnd(0, 1, 2, { 'val/loss': 0.4 }),
      b: () => run.validationEnd(0, 3, 4, { 'val/loss': 0.3 }),
      c: () => run.epochEnd(0, 4, {}, { 'val/loss': 0.3 }),
    })
    decisions({ monitor: 'val/loss' }, 'F a b c|', vals, 'F S S E|')
  })
  it('an interrupted run (fitEnd interrupted) saves a last checkpoint; a finished one does not', () => {
    const ends = (run: FakeRun) => ({ F: () => run.fitStart(), z: () => run.fitEnd('interrupted', 1, 6), y: () => run.fitEnd('maxEpochs', 1, 6) })
    decisions({}, 'F z|', ends, 'F S|')
    decisions({}, 'F y|', ends, 'F Z|')
  })
  it('fastDevRun saves nothing', () => {
    const dev = (run: FakeRun) => ({ F: () => run.fitStart({ fastDevRun: true }), a: () => run.epochEnd(0, 4) })
    decisions({}, 'F a|', dev, 'F E|')
  })
})

describe('what is on disk (in-memory file system)', () => {
  const names = (fs: ReturnType<typeof memoryFileSystem>, dir = '/run/checkpoints') =>
    [...new Set([...fs.files.keys()].filter((k) => k.startsWith(`${dir}/`)).map((k) => k.slice(dir.length + 1).split('/')[0]))].sort()

  it('keeps the top k by the monitor, points best at the best, and deletes what falls out', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    const scores = [0.5, 0.3, 0.4, 0.2, 0.6]
    await feed(run, checkpoint({ fs, monitor: 'val/score', saveTopK: 2, filename: '{epoch}-{val/score:.2f}' }), [
      () => run.fitStart(),
      ...scores.map((s, e) => () => run.epochEnd(e, 4 * (e + 1), {}, { 'val/score': s })),
    ])
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
    await feed(run, checkpoint({ fs, monitor: 'val/score', saveTopK: 1, saveLast: true }), [
      () => run.fitStart(),
      () => run.epochEnd(0, 4, {}, { 'val/score': 0.5 }),
      () => run.epochEnd(1, 8, {}, { 'val/score': 0.7 }), // not better: a last-only checkpoint
      () => run.epochEnd(2, 12, {}, { 'val/score': 0.9 }), // last-only too; the one from epoch 1 goes
    ])
    expect(names(fs)).toEqual(['best.json', 'epoch=0-step=4', 'last-epoch=2-step=12', 'last.json'])
    expect(JSON.parse(new TextDecoder().decode(fs.files.get('/run/checkpoints/last.json')))).toEqual({ checkpoint: 'last-epoch=2-step=12' })
    run.dispose()
  })

  it('an interrupted run (fitEnd interrupted) saves a last checkpoint, even before its template metrics exist', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await feed(run, checkpoint({ fs, monitor: 'val/loss', filename: '{epoch}-{val/loss:.3f}' }), [() => run.fitStart(), () => run.fitEnd('interrupted', 0, 3)])
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
      await feed(run, checkpoint({ fs, saveTopK: k }), [() => run.fitStart(), ...[0, 1, 2].map((e) => () => run.epochEnd(e, 4 * (e + 1)))])
      expect(names(fs)).toEqual(expected)
      run.dispose()
    }
  })

  it('never overwrites: a name already in the directory gets -v1', async () => {
    const fs = memoryFileSystem({ '/run/checkpoints/epoch=0-step=4/manifest.json': '{}' })
    const run = fakeRun()
    await feed(run, checkpoint({ fs, saveTopK: -1 }), [() => run.fitStart(), () => run.epochEnd(0, 4)])
    expect(names(fs)).toEqual(['best.json', 'epoch=0-step=4', 'epoch=0-step=4-v1'])
    run.dispose()
  })

  it('clears half-written temporary directories left by a crash', async () => {
    const fs = memoryFileSystem({ '/run/checkpoints/.tmp-epoch=9-step=1/tensors.bin': 'xx', '/run/checkpoints/.last.json.77.3.tmp': '{' })
    const run = fakeRun()
    await feed(run, checkpoint({ fs }), [() => run.fitStart()])
    expect(names(fs)).toEqual([])
    run.dispose()
  })

  it('restores its state on resume: the top k continues from the checkpoint', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    const restored = { kept: [{ name: 'old-best', score: 0.1 }], best: 'old-best', last: null, lastGlobalStepSaved: 8, lastTimeSaved: 0 }
    await feed(run, checkpoint({ fs, monitor: 'val/score', saveTopK: 1 }), [
      () => run.fitStart({}, { hookStates: { checkpoint: restored } }),
      () => run.epochEnd(2, 12, {}, { 'val/score': 0.2 }), // worse than the restored best: not saved
    ])
    expect(names(fs)).toEqual([])
    run.dispose()
  })

  it('a monitor that is never logged is a ConfigError once validation has run', async () => {
    const fs = memoryFileSystem()
    const run = fakeRun()
    await expect(
      feed(run, checkpoint({ fs, monitor: 'val/acc' }), [() => run.fitStart(), () => run.validationEnd(0, 3, 4, { 'val/loss': 1 }), () => run.epochEnd(0, 4, {}, { 'val/loss': 1 })]),
    ).rejects.toThrow(/checkpoint monitor 'val\/acc' was not logged[\s\S]*val\/loss/)
    run.dispose()
  })

  it('rejects impossible options at once', () => {
    expect(() => checkpoint({ saveTopK: 3 })).toThrow(/needs a monitor/)
    expect(() => checkpoint({ saveTopK: -2 })).toThrow(/saveTopK must be an integer >= -1/)
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
