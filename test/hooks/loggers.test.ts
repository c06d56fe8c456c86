import * as tf from '@tensorflow/tfjs-core'
import { asyncScheduler, concatMap, delay, lastValueFrom, type MonoTypeOperatorFunction, observeOn, of, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Backend } from '../../src/backends/backend.js'
import type { Clock } from '../../src/effects/clock.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { jsonlLogger } from '../../src/hooks/jsonlLogger.js'
import { replayEvents } from '../../src/flow/replayEvents.js'
import { logRowOf } from '../../src/hooks/logRows.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { quiet, useBackend } from '../support/backend.js'
import { type FakeRun, fakeRun, feed } from '../support/events.js'
import { lineModule, tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const text = (fs: MemoryFileSystem, path: string) => new TextDecoder().decode(fs.files.get(path))

/** A module that logs `extra` from epoch 1 on, so the CSV header has to grow. */
const growing = () => {
  const base = lineModule()
  return {
    ...base,
    trainingStep: (model: Parameters<typeof base.trainingStep>[0], batch: XY, ctx: Parameters<typeof base.trainingStep>[2]) => {
      const out = base.trainingStep(model, batch, ctx)
      return { ...out, logs: { ...out.logs, ...(ctx.epoch >= 1 && { extra: ctx.epoch * 10 }) } }
    },
  }
}

/** A clock that moves one second on every reading, so every row has its own time, the same in every run. */
const tickingClock = (start = 1_700_000_000_000): Clock => {
  let t = start
  return { now: () => (t += 1000), monotonic: () => t }
}

const runLogged = async (options: TrainerOptions, hook: MonoTypeOperatorFunction<FitEvent>, fs: MemoryFileSystem) => {
  const events: FitEvent[] = []
  await lastValueFrom(
    fit(growing(), tinyData(3, 2), { logEveryNSteps: 1, defaultRootDir: '/run', ...options }, { backend, signals: quiet, fs, clock: tickingClock() }).pipe(
      tap((e) => events.push(e)),
      hook,
      toArray(),
    ),
  )
  return events
}

/** The files a logger wrote in a real run, with the given operators before and after it. */
const filesOf = async (logger: () => MonoTypeOperatorFunction<FitEvent>, around: MonoTypeOperatorFunction<FitEvent>[] = []) => {
  const fs = memoryFileSystem()
  const op = (s: Parameters<MonoTypeOperatorFunction<FitEvent>>[0]) => around.reduce((acc, o) => acc.pipe(o), s)
  await runLogged({ maxEpochs: 3 }, (s) => s.pipe(op, logger(), op), fs)
  return new Map([...fs.files].map(([p, b]) => [p, new TextDecoder().decode(b)]))
}

/** The same file bytes behind asynchronous operators (before and after the logger) as with the plain pipe. */
const sameBehindAsyncOperators = async (logger: () => MonoTypeOperatorFunction<FitEvent>) => {
  const plain = await filesOf(logger)
  expect(plain.size).toBeGreaterThan(0)
  expect([...plain.values()].every((t) => t.length > 0)).toBe(true)
  expect(await filesOf(logger, [observeOn(asyncScheduler)])).toEqual(plain)
  expect(await filesOf(logger, [concatMap((e) => of(e).pipe(delay(0)))])).toEqual(plain)
}

describe('csvLogger', () => {
  it('writes one row per logged step, validation and epoch, at Lightning steps, with a header that grows', async () => {
    const fs = memoryFileSystem()
    const events = await runLogged({ maxEpochs: 2 }, csvLogger(), fs)
    const lines = text(fs, '/run/metrics.csv').trimEnd().split('\n')
    expect(lines[0]).toBe('epoch,step,train/loss,val/loss,extra')
    const expected = events.flatMap((e) => {
      const r = logRowOf(e)
      return r === undefined ? [] : [[r.epoch, r.step, r.metrics['train/loss'] ?? '', r.metrics['val/loss'] ?? '', r.metrics.extra ?? ''].join(',')]
    })
    expect(lines.slice(1)).toEqual(expected)
    // 3 training rows, 1 validation row per epoch (the epoch rows are empty: nothing logged per epoch)
    expect(lines).toHaveLength(1 + 2 * (3 + 1))
    expect(lines[1]).toMatch(/^0,0,[\d.e-]+,,$/)
    expect(lines[5]).toMatch(/^1,3,[\d.e-]+,,10$/)
  })

  it('writes hparams.yaml with the trainer options and your own', async () => {
    const fs = memoryFileSystem()
    await runLogged({ maxEpochs: 1, seed: 7 }, csvLogger({ hparams: { lr: 0.1, model: 'line' } }), fs)
    const hparams = parse(text(fs, '/run/hparams.yaml')) as Record<string, unknown>
    expect(hparams).toMatchObject({ maxEpochs: 1, seed: 7, logEveryNSteps: 1, lr: 0.1, model: 'line', 'limitTrainBatches.fraction': 1 })
  })

  it('follows logEveryNSteps: rows at steps 1 and 3 for every second step (Lightning: 49, 99 for 50)', async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(lineModule(), tinyData(4, 1), { maxEpochs: 1, logEveryNSteps: 2, limitValBatches: 0, defaultRootDir: '/run' }, { backend, signals: quiet, fs }).pipe(csvLogger(), toArray()))
    expect(text(fs, '/run/metrics.csv').trimEnd().split('\n').map((l) => l.split(',')[1])).toEqual(['step', '1', '3'])
  })

  it('writes nothing in a fastDevRun', async () => {
    const fs = memoryFileSystem()
    await runLogged({ fastDevRun: true }, csvLogger(), fs)
    expect([...fs.files.keys()]).toEqual([])
  })

  it('on resume keeps the rows its checkpoint had logged and continues after them', async () => {
    const run: FakeRun = fakeRun()
    const old = ['epoch,step,a', '0,0,1', '0,1,2', '0,2,3', '0,3,4', ''].join('\n')
    const fs = memoryFileSystem({ '/run/metrics.csv': old })
    await feed(
      run,
      csvLogger(),
      [() => run.fitStart({}, { hookStates: { csvLogger: { count: 2, tail: [] } } }), () => run.trainStep(0, 2, 3, { a: 30 }), () => run.epochEnd(0, 4, { b: 5 })],
      { fs },
    )
    expect(text(fs, '/run/metrics.csv')).toBe(['epoch,step,a,b', '0,0,1,', '0,1,2,', '0,2,30,', '0,4,,5', ''].join('\n'))
    run.dispose()
  })

  it('on resume rebuilds the rows the checkpoint had not seen written (a crash before the flush)', async () => {
    const run: FakeRun = fakeRun()
    // On disk: two rows and half a third (the process died while appending).
    const fs = memoryFileSystem({ '/run/metrics.csv': ['epoch,step,a', '0,0,1', '0,1,2', '0,2'].join('\n') })
    const tail = [3, 4].map((v) => ({ kind: 'train', epoch: 0, step: v - 1, time: 0, metrics: { a: v } }))
    await feed(run, csvLogger(), [() => run.fitStart({}, { hookStates: { csvLogger: { count: 4, tail } } }), () => run.epochEnd(0, 4, { a: 5 })], { fs })
    expect(text(fs, '/run/metrics.csv')).toBe(['epoch,step,a', '0,0,1', '0,1,2', '0,2,3', '0,3,4', '0,4,5', ''].join('\n'))
    run.dispose()
  })

  it('writes NaN and infinities as pandas reads them, and quotes odd names', async () => {
    const run = fakeRun()
    const fs = memoryFileSystem()
    await feed(run, csvLogger(), [() => run.fitStart(), () => run.trainStep(0, 0, 1, { 'a,b': Number.NaN, c: Infinity }), () => run.epochEnd(0, 1)], { fs })
    expect(text(fs, '/run/metrics.csv')).toBe('epoch,step,"a,b",c\n0,0,nan,inf\n')
    run.dispose()
  })

  it('writes the same files behind asynchronous operators (observeOn, concatMap into delay) before and after it', async () => {
    await sameBehindAsyncOperators(() => csvLogger({ flushEvery: 2, hparams: { lr: 0.1 } }))
  })

  it('checkpoints the count of rows and those not yet known to be on disk, under csvLogger', async () => {
    const run = fakeRun()
    const fs = memoryFileSystem()
    const states: unknown[] = []
    const events = [() => run.fitStart(), () => run.trainStep(0, 0, 1, { a: 1 }), () => run.trainStep(0, 1, 2, { a: 2 }), () => run.trainStep(0, 2, 3, { a: 3 })]
    await lastValueFrom(replayEvents<FitEvent>(events, { env: { fs }, onSettled: (_, __, hookStates) => states.push(hookStates.csvLogger) }).pipe(csvLogger({ flushEvery: 2 })), {
      defaultValue: undefined,
    })
    const row = (a: number) => ({ kind: 'train', epoch: 0, step: a - 1, time: expect.any(Number), metrics: { a } })
    // the second row fills the buffer: both are handed to a write, and known to be on disk at the next event
    expect(states).toEqual([
      { count: 0, tail: [] },
      { count: 1, tail: [row(1)] },
      { count: 2, tail: [row(1), row(2)] },
      { count: 3, tail: [row(3)] },
    ])
    expect(text(fs, '/run/metrics.csv')).toBe('epoch,step,a\n0,0,1\n0,1,2\n')
    run.dispose()
  })

  it('a state in the checkpoint that is not a logger state is a CheckpointError', async () => {
    const run = fakeRun()
    await expect(feed(run, csvLogger(), [() => run.fitStart({}, { hookStates: { csvLogger: { count: 'two' } } })], { fs: memoryFileSystem() })).rejects.toThrow(
      /CheckpointError: the checkpoint's state of hook 'csvLogger' does not decode/,
    )
    run.dispose()
  })

  it('two in one pipe write their own files and keep their own states, under csvLogger and csvLogger#2', async () => {
    const run = fakeRun()
    const fs = memoryFileSystem()
    await feed(run, (s) => s.pipe(csvLogger({ dir: '/a' }), csvLogger({ dir: '/b', flushEvery: 1 })), [() => run.fitStart(), () => run.trainStep(0, 0, 1, { a: 1 })], { fs })
    expect(text(fs, '/a/metrics.csv')).toBe('')
    expect(text(fs, '/b/metrics.csv')).toBe('epoch,step,a\n0,0,1\n')
    expect(Object.fromEntries(run.hookStates)).toMatchObject({ csvLogger: { count: 1, tail: [{ step: 0 }] }, 'csvLogger#2': { count: 1, tail: [{ step: 0 }] } })
    run.dispose()
  })

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors
    await runLogged({ maxEpochs: 1 }, csvLogger(), memoryFileSystem())
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('jsonlLogger', () => {
  it('writes one JSON object per row, with kind, step and time', async () => {
    const fs = memoryFileSystem()
    const events = await runLogged({ maxEpochs: 1 }, jsonlLogger(), fs)
    const rows = text(fs, '/run/metrics.jsonl').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const expected = events.flatMap((e) => {
      const r = logRowOf(e)
      return r === undefined ? [] : [{ kind: r.kind, epoch: r.epoch, step: r.step, time: r.time, metrics: r.metrics }]
    })
    expect(rows).toEqual(expected)
    expect(rows.map((r) => r.kind)).toEqual(['train', 'train', 'train', 'val'])
  })

  it('writes the same file behind asynchronous operators (observeOn, concatMap into delay) before and after it', async () => {
    await sameBehindAsyncOperators(() => jsonlLogger({ flushEvery: 2 }))
  })

  it('on resume keeps the rows its checkpoint had logged, rebuilds its tail, and continues after them', async () => {
    const run: FakeRun = fakeRun()
    const line = (step: number, a: number | string) => JSON.stringify({ kind: 'train', epoch: 0, step, time: 5, metrics: { a } })
    // On disk: three rows, the third of which the checkpoint had not seen; its tail is a fourth row, never written.
    const fs = memoryFileSystem({ '/run/metrics.jsonl': `${[line(0, 1), line(1, 'NaN'), line(2, 3)].join('\n')}\n` })
    const tail = [{ kind: 'train', epoch: 0, step: 2, time: 5, metrics: { a: 30 } }]
    await feed(run, jsonlLogger(), [() => run.fitStart({}, { hookStates: { jsonlLogger: { count: 3, tail } } }), () => run.trainStep(0, 3, 4, { a: 4 }, 5), () => run.fitEnd('maxEpochs', 1, 4)], { fs })
    expect(text(fs, '/run/metrics.jsonl')).toBe(`${[line(0, 1), line(1, 'NaN'), line(2, 30), line(3, 4)].join('\n')}\n`)
    run.dispose()
  })

  it('writes non-finite values as strings', async () => {
    const run = fakeRun()
    const fs = memoryFileSystem()
    await feed(run, jsonlLogger(), [() => run.fitStart(), () => run.trainStep(0, 0, 1, { a: Number.NaN }), () => run.fitEnd('maxEpochs', 1, 1)], { fs })
    expect(JSON.parse(text(fs, '/run/metrics.jsonl')).metrics).toEqual({ a: 'NaN' })
    run.dispose()
  })
})
