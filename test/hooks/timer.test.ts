import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { asyncScheduler, lastValueFrom, type MonoTypeOperatorFunction, observeOn, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { encodeCheckpoint, writeCheckpoint } from '../../src/checkpoint/writeCheckpoint.js'
import { manualClock } from '../../src/effects/clock.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { hook } from '../../src/flow/hook.js'
import { afterAll, type Settled } from '../../src/flow/hookEffect.js'
import { durationMs, formatClock, timer, type TimerOptions } from '../../src/hooks/timer.js'
import type { FitEnd, FitEvent, HookStates } from '../../src/pipeline/events.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { fakeRun, feed } from '../support/events.js'
import { runSync } from '../support/run.js'
import { lineModule, scheduleOf, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** A hook that hands `seen` what every hook left once `fitEnd` was handled (as a checkpoint written then would store). */
const atFitEnd = (seen: (e: FitEnd, settled: Settled) => unknown): MonoTypeOperatorFunction<FitEvent> =>
  hook<null, FitEvent>({
    kind: 'atFitEnd',
    on: ['fitEnd'],
    init: () => null,
    step: (s, e) => (e.type === 'fitEnd' ? [s, [afterAll((settled) => seen(e, settled) as undefined)]] : [s]),
  })

/**
 * A fit whose clock stands still except for +1000 ms after each training batch: batch k of the
 * run (counting across epochs from 0) happens at k·1000 ms after fitStart. `hookStates` are the
 * hooks' states once fitEnd was handled.
 */
const timedFit = (T: number, options: TrainerOptions, timerOptions: TimerOptions) => {
  const clock = manualClock(5_000_000)
  let hookStates: HookStates = {}
  const events = runSync(
    fit(lineModule(), tinyData(T, 2), options, { backend, clock, signals: quiet }).pipe(
      timer(timerOptions),
      tap((e) => {
        if (e.type === 'trainStep') clock.advance(1000)
      }),
      atFitEnd((_, settled) => {
        hookStates = settled.hookStates
      }),
    ),
  )
  return Object.assign(events, { hookStates })
}

const endOf = (events: readonly FitEvent[]) => {
  const end = events.at(-1)
  if (end?.type !== 'fitEnd') throw new Error('the run did not end with fitEnd')
  return end
}

describe('timer in a fit', () => {
  it('stops the run once maxTime has elapsed, at the batch that reaches it', () => {
    const before = tf.memory().numTensors
    // Batches at 0, 1000, 2000, 3000 ms: the fourth reaches 2500 ms.
    const events = timedFit(10, { maxEpochs: 5 }, { maxTime: { seconds: 2.5 } })
    expect(tf.memory().numTensors).toBe(before)
    const s = scheduleOf(events)
    expect(s.trainSteps).toBe(4)
    expect(s.validations).toEqual(['0:3'])
    expect(endOf(events).reason).toBe('stopRequested')
    expect(endOf(events).stopReason).toBe('timer: maxTime 00:00:02.500 elapsed')
  })

  it('records the time spent as hook state, up to date at the end', () => {
    const events = timedFit(10, { maxEpochs: 5 }, { maxTime: 2500 })
    const end = endOf(events)
    // The fourth batch advanced the clock to 4000 ms after fitStart.
    expect(end.time - (events[0] as FitEvent).time).toBe(4000)
    expect(events.hookStates.timer).toEqual({ elapsedMs: 4000 })
  })

  it('stops at the same batch behind an asynchronous operator (observeOn)', async () => {
    const timed = async (before: MonoTypeOperatorFunction<FitEvent>) => {
      const clock = manualClock(5_000_000)
      let hookStates: HookStates = {}
      const events = await lastValueFrom(
        fit(lineModule(), tinyData(10, 2), { maxEpochs: 5 }, { backend, clock, signals: quiet }).pipe(
          before,
          timer({ maxTime: 2500 }),
          tap((e) => {
            if (e.type === 'trainStep') clock.advance(1000)
          }),
          atFitEnd((_, settled) => {
            hookStates = settled.hookStates
          }),
          toArray(),
        ),
      )
      return [scheduleOf(events).trainSteps, endOf(events).stopReason, hookStates.timer]
    }
    const plain = await timed((s) => s)
    expect(plain).toEqual([4, 'timer: maxTime 00:00:02.500 elapsed', { elapsedMs: 4000 }])
    expect(await timed(observeOn(asyncScheduler))).toEqual(plain)
  })

  it('still runs minEpochs: the stop waits for the end of the second epoch', () => {
    // 3 batches an epoch; the stop is requested at batch 2 (2000 ms ≥ 1500 ms) of epoch 0.
    const events = timedFit(3, { maxEpochs: 10, minEpochs: 2 }, { maxTime: 1500 })
    const s = scheduleOf(events)
    expect(s.epochs).toBe(2)
    expect(s.trainSteps).toBe(6)
    expect(endOf(events).reason).toBe('stopRequested')
    expect(endOf(events).stopReason).toBe('timer: maxTime 00:00:01.500 elapsed')
  })

  it("with interval 'epoch' checks only at epoch ends", () => {
    // Epoch 0 ends at 3000 ms (≥ 2500): stop there. Checking per step would stop at 4 batches.
    const events = timedFit(3, { maxEpochs: 10 }, { maxTime: 2500, interval: 'epoch' })
    expect(scheduleOf(events).trainSteps).toBe(3)
    expect(scheduleOf(events).epochs).toBe(1)
    expect(endOf(events).reason).toBe('stopRequested')
  })

  it('does not stop a run that finishes within its budget', () => {
    const events = timedFit(3, { maxEpochs: 2 }, { maxTime: { minutes: 1 } })
    expect(endOf(events).reason).toBe('maxEpochs')
    expect(events.hookStates.timer).toEqual({ elapsedMs: 6000 })
  })
})

describe('timer across a checkpoint', () => {
  it('a run resumed from a checkpoint stops where the uninterrupted run would have', async () => {
    // 5 batches an epoch, +1000 ms per batch, budget 7.5 s: uninterrupted, batch 8 (at 8000 ms)
    // is the last. Interrupted after batch 3 (4000 ms spent), the resumed run must stop at the
    // same batch 8 although its own clock starts again from its fitStart.
    const advance = (clock: ReturnType<typeof manualClock>) =>
      tap((e: FitEvent) => {
        if (e.type === 'trainStep') clock.advance(1000)
      })
    const full = timedFit(5, { maxEpochs: 10 }, { maxTime: 7500 })
    expect(scheduleOf(full).trainSteps).toBe(9)

    const fs = memoryFileSystem()
    const signals = manualSignals()
    const clock = manualClock(1_000)
    await lastValueFrom(
      fit(lineModule(), tinyData(5, 2), { maxEpochs: 10 }, { backend, clock, signals }).pipe(
        timer({ maxTime: 7500 }),
        advance(clock),
        tap((e) => {
          if (e.type === 'trainStep' && e.batchIdx === 3) signals.raise('SIGINT')
        }),
        atFitEnd(async (e, { hookStates }) => {
          expect(e.reason).toBe('interrupted')
          expect(hookStates.timer).toEqual({ elapsedMs: 4000 })
          const files = encodeCheckpoint({ state: e.state, weightsOnly: false, loop: e.loop, hookStates, options: null, precision: { name: '32-true', storageDtype: 'float32' }, meta: {}, createdAt: 'now' })
          const written = await writeCheckpoint(fs, '/ckpt', 'last', files)()
          if (E.isLeft(written)) throw written.left
        }),
      ),
    )

    const later = manualClock(9_000_000)
    const resumed: FitEvent[] = []
    await lastValueFrom(
      fit(lineModule(), tinyData(5, 2), { maxEpochs: 10, ckptPath: '/ckpt/last' }, { backend, fs, clock: later, signals: manualSignals() }).pipe(
        timer({ maxTime: 7500 }),
        advance(later),
        tap((e) => resumed.push(e)),
      ),
    )
    expect(resumed[0]?.type === 'fitStart' && resumed[0].resumed?.hookStates.timer).toEqual({ elapsedMs: 4000 })
    const steps = resumed.flatMap((e) => (e.type === 'trainStep' ? [`${e.epoch}:${e.batchIdx}`] : []))
    expect(steps).toEqual(['0:4', '1:0', '1:1', '1:2', '1:3'])
    expect(endOf(resumed).stopReason).toBe('timer: maxTime 00:00:07.500 elapsed')
  })
})

/** A resumed run of hand-made events: fitStart at 1000 ms (fakeRun's), then training batches 500 and 1000 ms later. */
const resumedRun = async (hookStates: HookStates | undefined) => {
  const run = fakeRun()
  const states: unknown[] = []
  const events = [
    () => run.fitStart({}, hookStates === undefined ? undefined : { hookStates }),
    () => run.trainStep(0, 0, 1, {}, 1500),
    () => run.trainStep(0, 1, 2, {}, 2000),
  ]
  try {
    // Each prefix of the events: the timer's state after each of them.
    for (let n = 1; n <= events.length; n++) {
      const r = fakeRun()
      await feed(r, timer({ maxTime: { minutes: 1 } }), events.slice(0, n))
      states.push(r.hookStates.get('timer'))
      r.dispose()
    }
    await feed(run, timer({ maxTime: { minutes: 1 } }), events)
    return { states, stops: run.stops }
  } finally {
    run.dispose()
  }
}

describe('timer on resume', () => {
  it('goes on counting from the elapsed time the checkpoint restored', async () => {
    const r = await resumedRun({ timer: { elapsedMs: 59_000 } })
    expect(r.states).toEqual([{ elapsedMs: 59_000 }, { elapsedMs: 59_500 }, { elapsedMs: 60_000 }])
    expect(r.stops).toEqual(['timer: maxTime 00:01:00 elapsed'])
  })

  it('starts from zero without a restored state; a state it cannot read is a CheckpointError', async () => {
    const fresh = await resumedRun(undefined)
    expect(fresh.stops).toEqual([])
    expect(fresh.states.at(-1)).toEqual({ elapsedMs: 1000 })
    await expect(resumedRun({ timer: { elapsed: 59_000 } })).rejects.toThrow(/CheckpointError: the checkpoint's state of hook 'timer' does not decode/)
  })

  it('two timers keep their own times, under timer and timer#2', async () => {
    const run = fakeRun()
    await feed(run, (s) => s.pipe(timer({ maxTime: 60_000 }), timer({ maxTime: 500 })), [
      () => run.fitStart({}, { hookStates: { timer: { elapsedMs: 10_000 } } }),
      () => run.trainStep(0, 0, 1, {}, 1500),
    ])
    expect(Object.fromEntries(run.hookStates)).toEqual({ timer: { elapsedMs: 10_500 }, 'timer#2': { elapsedMs: 500 } })
    expect(run.stops).toEqual(['timer: maxTime 00:00:00.500 elapsed'])
    run.dispose()
  })
})

describe('durations', () => {
  it('reads maxTime as milliseconds or parts, and prints it as a clock', () => {
    expect(durationMs({ days: 1, hours: 2, minutes: 3, seconds: 4 })).toBe(((24 + 2) * 60 + 3) * 60_000 + 4000)
    expect(durationMs(90_000)).toBe(90_000)
    expect(formatClock(60_000)).toBe('00:01:00')
    expect(formatClock(2500)).toBe('00:00:02.500')
    expect(formatClock(((24 + 2) * 60 + 3) * 60_000 + 4000)).toBe('01:02:03:04')
  })

  it('rejects a negative or non-finite maxTime when the hook is built', () => {
    for (const maxTime of [-1, Number.NaN, { hours: Number.POSITIVE_INFINITY }]) {
      let error: unknown
      try {
        timer({ maxTime })
      } catch (e) {
        error = e
      }
      expect(isRxtrainError(error) && error.tag).toBe('ConfigError')
    }
  })
})
