import { asyncScheduler, lastValueFrom, type MonoTypeOperatorFunction, observeOn, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import { formatMetrics, printMetrics } from '../../src/hooks/printMetrics.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { fakeRun, feed } from '../support/events.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

describe('printMetrics', () => {
  it('formats metrics sorted by name', () => {
    expect(formatMetrics({ 'val/loss': 0.25, 'train/loss': 1 / 3 }, 2)).toBe('train/loss 0.33 · val/loss 0.25')
    expect(formatMetrics({})).toBe('')
  })

  it("prints the run's start, one line per epoch with its time, and why training ended, on the run's console", async () => {
    const run = fakeRun()
    const out = bufferConsole()
    await feed(
      run,
      printMetrics({ digits: 2 }),
      [
        () => run.fitStart({ maxEpochs: 3, numTrainBatches: 4, numValBatches: 2 }),
        () => ({ type: 'epochStart', time: 1000, epoch: 0, globalStep: 0, numBatches: 4, firstBatch: 0 }),
        () => run.trainStep(0, 0, 1),
        () => run.epochEnd(0, 4, { 'train/loss': 0.5 }, { 'train/loss': 0.5, 'val/acc': 0.75 }),
        () => run.fitEnd('maxEpochs', 1, 4),
      ],
      { console: out },
    )
    run.dispose()
    // fakeRun's events after fitStart (at 1000 ms) are 10 ms apart: the epoch ends at 1020 ms.
    expect(out.lines[0]).toBe('training on cpu, given by the caller: 4 batches per epoch, 2 validation batches')
    expect(out.lines[1]).toBe('epoch 1/3 · train/loss 0.50 · val/acc 0.75 · 0.0s')
    expect(out.lines[2]).toBe('training ended (maxEpochs) after 1 epochs, 4 steps')
    expect(out.lines).toHaveLength(3)
  })

  it('prints the same lines behind an asynchronous operator (observeOn)', async () => {
    const printed = async (before: MonoTypeOperatorFunction<FitEvent>) => {
      const out = bufferConsole()
      const clock = manualClock(1_000_000)
      await lastValueFrom(
        fit(lineModule(), tinyData(3, 2), { maxEpochs: 2 }, { backend, signals: quiet, clock, console: out }).pipe(
          tap((e) => {
            if (e.type === 'trainStep') clock.advance(500)
          }),
          before,
          printMetrics(),
          toArray(),
        ),
      )
      return out.lines
    }
    const plain = await printed((s) => s)
    expect(plain).toHaveLength(4)
    expect(plain[1]).toMatch(/^epoch 1\/2 · train\/loss \d\.\d{4} · val\/loss \d\.\d{4} · 1\.5s$/)
    expect(plain[3]).toBe('training ended (maxEpochs) after 2 epochs, 6 steps')
    expect(await printed(observeOn(asyncScheduler))).toEqual(plain)
  })
})
