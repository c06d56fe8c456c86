import { asyncScheduler, lastValueFrom, map, type MonoTypeOperatorFunction, observeOn, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { lrMonitor } from '../../src/hooks/lrMonitor.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** Trains with `ops` before a CSV logger and early stopping, and returns the CSV's header and row count. */
const csvAfter = async (...ops: MonoTypeOperatorFunction<FitEvent>[]) => {
  const fs = memoryFileSystem()
  const events = await lastValueFrom(
    fit(lineModule(), tinyData(3, 1), { maxEpochs: 2, logEveryNSteps: 1, defaultRootDir: '/run' }, { backend, signals: quiet, fs }).pipe(
      (s) => ops.reduce((acc, op) => acc.pipe(op), s),
      earlyStopping({ monitor: 'val/loss', patience: 5 }),
      csvLogger(),
      toArray(),
    ),
  )
  const lines = new TextDecoder().decode(fs.files.get('/run/metrics.csv')).trim().split('\n')
  return { header: lines[0], rows: lines.length - 1, ends: events.filter((e) => e.type === 'fitEnd').length }
}

describe('hooks after operators that copy events', () => {
  it("a user's map that copies each event: the hooks after it still act on every event", async () => {
    const plain = await csvAfter()
    const copied = await csvAfter(map((e) => ({ ...e })))
    const copiedLate = await csvAfter(observeOn(asyncScheduler), map((e) => ({ ...e })))
    expect(copied).toEqual(plain)
    expect(copiedLate).toEqual(plain)
    expect(plain.rows).toBeGreaterThan(5)
  })

  it('a hook that hands on a changed copy (lrMonitor adds lr): the loggers after it write it, also behind observeOn', async () => {
    for (const before of [[], [observeOn(asyncScheduler)]] as MonoTypeOperatorFunction<FitEvent>[][]) {
      const withLr = await csvAfter(...before, lrMonitor())
      expect(withLr.header?.split(',')).toContain('lr')
      expect(withLr.ends).toBe(1)
    }
  })
})
