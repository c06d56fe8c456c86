import { asyncScheduler, lastValueFrom, type MonoTypeOperatorFunction, observeOn, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import { formatMetrics, printMetrics, startLines } from '../../src/hooks/printMetrics.js'
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
    // the start in two lines: a short one, and the backend's details below it
    expect(out.lines[0]).toBe('training on cpu: 4 batches per epoch, 2 validation batches')
    expect(out.lines[1]).toMatch(/^ {2}cpu.*, given by the caller$/)
    expect(out.lines[2]).toBe('epoch 1/3 · train/loss 0.50 · val/acc 0.75 · 0.0s')
    expect(out.lines[3]).toBe('training ended (maxEpochs) after 1 epochs, 4 steps')
    expect(out.lines).toHaveLength(4)
  })

  it('states the backend in a line that fits 80 columns, the details below it, one line per backend passed over', () => {
    const accelerator = {
      requested: 'auto' as const,
      backend: 'wasm' as const,
      description: 'wasm (XNNPACK, SIMD, 1 thread, tfjs 4.22.0)',
      skipped: [
        { backend: 'tensorflow-gpu' as const, reason: 'needs @tensorflow/tfjs-node-gpu, which is not installed (its install script downloads libtensorflow)' },
        { backend: 'webgpu' as const, reason: 'no GPU: no Vulkan loader' },
      ],
    }
    const lines = startLines({ accelerator, plan: { numTrainBatches: 430, numValBatches: 40 } })
    expect(lines).toEqual([
      'training on wasm: 430 batches per epoch, 40 validation batches',
      "  wasm (XNNPACK, SIMD, 1 thread, tfjs 4.22.0), accelerator 'auto'",
      '  not tensorflow-gpu: needs @tensorflow/tfjs-node-gpu, which is not installed',
      '  not webgpu: no GPU: no Vulkan loader',
    ])
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80)
    expect(startLines({ accelerator, plan: { numTrainBatches: Number.POSITIVE_INFINITY, numValBatches: 0 } })[0]).toBe('training on wasm: ? batches per epoch, 0 validation batches')
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
    expect(plain).toHaveLength(5)
    expect(plain[2]).toMatch(/^epoch 1\/2 · train\/loss \d\.\d{4} · val\/loss \d\.\d{4} · 1\.5s$/)
    expect(plain[4]).toBe('training ended (maxEpochs) after 2 epochs, 6 steps')
    expect(await printed(observeOn(asyncScheduler))).toEqual(plain)
  })
})
