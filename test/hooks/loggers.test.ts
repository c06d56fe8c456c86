import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Backend } from '../../src/backends/backend.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { jsonlLogger } from '../../src/hooks/jsonlLogger.js'
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

const text = (fs: ReturnType<typeof memoryFileSystem>, path: string) => new TextDecoder().decode(fs.files.get(path))

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

const runLogged = async (options: TrainerOptions, hook: ReturnType<typeof csvLogger>) => {
  const events: FitEvent[] = []
  await lastValueFrom(fit(growing(), tinyData(3, 2), { logEveryNSteps: 1, defaultRootDir: '/run', ...options }, { backend, signals: quiet }).pipe(tap((e) => events.push(e)), hook, toArray()))
  return events
}

describe('csvLogger', () => {
  it('writes one row per logged step, validation and epoch, at Lightning steps, with a header that grows', async () => {
    const fs = memoryFileSystem()
    const events = await runLogged({ maxEpochs: 2 }, csvLogger({ fs }))
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
    await runLogged({ maxEpochs: 1, seed: 7 }, csvLogger({ fs, hparams: { lr: 0.1, model: 'line' } }))
    const hparams = parse(text(fs, '/run/hparams.yaml')) as Record<string, unknown>
    expect(hparams).toMatchObject({ maxEpochs: 1, seed: 7, logEveryNSteps: 1, lr: 0.1, model: 'line', 'limitTrainBatches.fraction': 1 })
  })

  it('follows logEveryNSteps: rows at steps 1 and 3 for every second step (Lightning: 49, 99 for 50)', async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(lineModule(), tinyData(4, 1), { maxEpochs: 1, logEveryNSteps: 2, limitValBatches: 0, defaultRootDir: '/run' }, { backend, signals: quiet }).pipe(csvLogger({ fs }), toArray()))
    expect(text(fs, '/run/metrics.csv').trimEnd().split('\n').map((l) => l.split(',')[1])).toEqual(['step', '1', '3'])
  })

  it('writes nothing in a fastDevRun', async () => {
    const fs = memoryFileSystem()
    await runLogged({ fastDevRun: true }, csvLogger({ fs }))
    expect([...fs.files.keys()]).toEqual([])
  })

  it('on resume keeps the rows its checkpoint had logged and continues after them', async () => {
    const run: FakeRun = fakeRun()
    const old = ['epoch,step,a', '0,0,1', '0,1,2', '0,2,3', '0,3,4', ''].join('\n')
    const fs = memoryFileSystem({ '/run/metrics.csv': old })
    await feed(run, csvLogger({ fs }), [
      () => run.fitStart({}, { hookStates: { csvLogger: { count: 2, tail: [] } } }),
      () => run.trainStep(0, 2, 3, { a: 30 }),
      () => run.epochEnd(0, 4, { b: 5 }),
    ])
    expect(text(fs, '/run/metrics.csv')).toBe(['epoch,step,a,b', '0,0,1,', '0,1,2,', '0,2,30,', '0,4,,5', ''].join('\n'))
    run.dispose()
  })

  it('on resume rebuilds the rows the checkpoint had not seen written (a crash before the flush)', async () => {
    const run: FakeRun = fakeRun()
    // On disk: two rows and half a third (the process died while appending).
    const fs = memoryFileSystem({ '/run/metrics.csv': ['epoch,step,a', '0,0,1', '0,1,2', '0,2'].join('\n') })
    const tail = [3, 4].map((v) => ({ kind: 'train', epoch: 0, step: v - 1, time: 0, metrics: { a: v } }))
    await feed(run, csvLogger({ fs }), [() => run.fitStart({}, { hookStates: { csvLogger: { count: 4, tail } } }), () => run.epochEnd(0, 4, { a: 5 })])
    expect(text(fs, '/run/metrics.csv')).toBe(['epoch,step,a', '0,0,1', '0,1,2', '0,2,3', '0,3,4', '0,4,5', ''].join('\n'))
    run.dispose()
  })

  it('writes NaN and infinities as pandas reads them, and quotes odd names', async () => {
    const run = fakeRun()
    const fs = memoryFileSystem()
    await feed(run, csvLogger({ fs }), [() => run.fitStart(), () => run.trainStep(0, 0, 1, { 'a,b': Number.NaN, c: Infinity }), () => run.epochEnd(0, 1)])
    expect(text(fs, '/run/metrics.csv')).toBe('epoch,step,"a,b",c\n0,0,nan,inf\n')
    run.dispose()
  })

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors
    await runLogged({ maxEpochs: 1 }, csvLogger({ fs: memoryFileSystem() }))
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('jsonlLogger', () => {
  it('writes one JSON object per row, with kind, step and time', async () => {
    const fs = memoryFileSystem()
    const events = await runLogged({ maxEpochs: 1 }, jsonlLogger({ fs }))
    const rows = text(fs, '/run/metrics.jsonl').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const expected = events.flatMap((e) => {
      const r = logRowOf(e)
      return r === undefined ? [] : [{ kind: r.kind, epoch: r.epoch, step: r.step, time: r.time, metrics: r.metrics }]
    })
    expect(rows).toEqual(expected)
    expect(rows.map((r) => r.kind)).toEqual(['train', 'train', 'train', 'val'])
  })

  it('writes non-finite values as strings', async () => {
    const run = fakeRun()
    const fs = memoryFileSystem()
    await feed(run, jsonlLogger({ fs }), [() => run.fitStart(), () => run.trainStep(0, 0, 1, { a: Number.NaN }), () => run.fitEnd('maxEpochs', 1, 1)])
    expect(JSON.parse(text(fs, '/run/metrics.jsonl')).metrics).toEqual({ a: 'NaN' })
    run.dispose()
  })
})
