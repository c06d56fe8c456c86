import { asyncScheduler, lastValueFrom, merge, observeOn, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** One run with its own file system and a clock that stands still (checkpoints record the time), hooks behind an asynchronous operator. */
const runOf = (seed: number) => {
  const fs = memoryFileSystem()
  const run = fit(lineModule(0.05), tinyData(5, 2), { maxEpochs: 6, seed, defaultRootDir: '/run', logEveryNSteps: 1 }, { backend, fs, signals: quiet, clock: manualClock(1_000) }).pipe(
    observeOn(asyncScheduler),
    checkpoint({ monitor: 'val/loss', saveLast: true }),
    earlyStopping({ monitor: 'val/loss', patience: 1, minDelta: 0.05 }),
    csvLogger(),
  )
  return { fs, run }
}
const filesOf = (fs: ReturnType<typeof memoryFileSystem>) => Object.fromEntries([...fs.files].map(([p, b]) => [p, Buffer.from(b).toString('base64')]))

describe('two runs at once in one process', () => {
  it('each claims its own hooks and writes exactly what it writes alone', async () => {
    const alone = [runOf(1), runOf(2)]
    for (const r of alone) await lastValueFrom(r.run)
    const together = [runOf(1), runOf(2)]
    const events = await lastValueFrom(merge(...together.map((r) => r.run)).pipe(toArray()))
    expect(events.filter((e) => e.type === 'fitEnd')).toHaveLength(2)
    expect(filesOf(together[0]!.fs)).toEqual(filesOf(alone[0]!.fs))
    expect(filesOf(together[1]!.fs)).toEqual(filesOf(alone[1]!.fs))
  })
})
