import { asyncScheduler, concatMap, delay, filter, lastValueFrom, map, type MonoTypeOperatorFunction, observeOn, of, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { type EarlyStoppingOptions, earlyStopping, earlyStoppingCheck } from '../../src/hooks/earlyStopping.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { type FakeRun, fakeRun, feed } from '../support/events.js'
import { failureOf, runSync } from '../support/run.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const fresh = { best: null, wait: 0, stoppedEpoch: null }

describe('the rules (pure)', () => {
  const o: EarlyStoppingOptions = { monitor: 'val/loss', patience: 2 }
  const run = (opts: EarlyStoppingOptions, values: number[]) => {
    let state = fresh as ReturnType<typeof earlyStoppingCheck>['state']
    const stops: (string | undefined)[] = []
    values.forEach((v, epoch) => {
      const r = earlyStoppingCheck(opts, state, v, epoch)
      state = r.state
      stops.push(r.stop)
    })
    return { state, stops }
  }

  it('stops after `patience` checks without improvement, and says so', () => {
    const { stops, state } = run(o, [1, 0.8, 0.9, 0.85])
    expect(stops.slice(0, 3)).toEqual([undefined, undefined, undefined])
    expect(stops[3]).toBe('Monitored metric val/loss did not improve in the last 2 records. Best score: 0.800. Signaling Trainer to stop.')
    expect(state).toEqual({ best: 0.8, wait: 2, stoppedEpoch: 3 })
  })

  it('minDelta: a smaller improvement does not count', () => {
    expect(run({ ...o, minDelta: 0.1 }, [1, 0.95, 0.92]).stops[2]).toMatch(/did not improve in the last 2 records. Best score: 1.000/)
    expect(run({ ...o, minDelta: 0.1 }, [1, 0.85, 0.7]).stops).toEqual([undefined, undefined, undefined])
  })

  it('mode max', () => {
    expect(run({ monitor: 'val/acc', mode: 'max', patience: 1 }, [0.5, 0.6, 0.55]).stops[2]).toMatch(/did not improve in the last 1 records. Best score: 0.600/)
  })

  it('a non-finite value stops at once (checkFinite), unless disabled', () => {
    expect(run(o, [1, Number.NaN]).stops[1]).toBe('Monitored metric val/loss = NaN is not finite. Previous best value was 1.000. Signaling Trainer to stop.')
    expect(run({ ...o, checkFinite: false }, [1, Number.NaN]).stops[1]).toBeUndefined()
  })

  it('stopping and divergence thresholds', () => {
    expect(run({ ...o, stoppingThreshold: 0.5 }, [1, 0.4]).stops[1]).toBe('Stopping threshold reached: val/loss = 0.4 < 0.5. Signaling Trainer to stop.')
    expect(run({ ...o, divergenceThreshold: 10 }, [1, 12]).stops[1]).toBe('Divergence threshold reached: val/loss = 12 > 10. Signaling Trainer to stop.')
    expect(run({ monitor: 'val/acc', mode: 'max', stoppingThreshold: 0.99 }, [0.5, 0.995]).stops[1]).toMatch(/0.995 > 0.99/)
  })
})

describe('when it checks and asks to stop (hand-made events)', () => {
  /** One letter an event: F fitStart, v validationEnd, E epochEnd, X where the hook asked to stop. */
  const decisions = async (options: EarlyStoppingOptions, make: (run: FakeRun) => (() => FitEvent)[]) => {
    const run = fakeRun()
    const seen = await feed(run, earlyStopping(options), make(run))
    run.dispose()
    return seen.map((e, i) => (run.outcomes[i] !== undefined ? 'X' : e.type === 'epochEnd' ? 'E' : e.type === 'validationEnd' ? 'v' : 'F')).join('')
  }
  const epochs = (run: FakeRun) => [
    () => run.fitStart(),
    () => run.epochEnd(0, 4, {}, { 'val/loss': 1 }),
    () => run.epochEnd(1, 8, {}, { 'val/loss': 1.1 }),
    () => run.epochEnd(2, 12, {}, { 'val/loss': 1.2 }),
  ]
  it('checks at epoch end when validation runs once per epoch', async () => expect(await decisions({ monitor: 'val/loss', patience: 2 }, epochs)).toBe('FEEX'))
  it('checks after each validation when it runs several times per epoch', async () => {
    const vals = (run: FakeRun) => [
      () => run.fitStart({ valCheckBatch: 2 }),
      () => run.validationEnd(0, 1, 2, { 'val/loss': 1 }),
      () => run.validationEnd(0, 3, 4, { 'val/loss': 2 }),
      () => run.epochEnd(0, 4, {}, { 'val/loss': 2 }),
    ]
    expect(await decisions({ monitor: 'val/loss', patience: 1 }, vals)).toBe('FvXE')
  })
  it('restores its counters on resume, from its state under its kind', async () => {
    const resumed = (run: FakeRun) => [
      () => run.fitStart({}, { hookStates: { earlyStopping: { best: 0.5, wait: 1, stoppedEpoch: null } } }),
      () => run.epochEnd(3, 16, {}, { 'val/loss': 0.9 }),
    ]
    expect(await decisions({ monitor: 'val/loss', patience: 2 }, resumed)).toBe('FX')
  })
  it('a state in the checkpoint that is not an early-stopping state is a CheckpointError', async () => {
    const bad = (run: FakeRun) => [() => run.fitStart({}, { hookStates: { earlyStopping: { best: 'low' } } })]
    await expect(decisions({ monitor: 'val/loss' }, bad)).rejects.toThrow(/CheckpointError: the checkpoint's state of hook 'earlyStopping' does not decode/)
  })
  it('two in one pipe keep their own states, under earlyStopping and earlyStopping#2', async () => {
    const run = fakeRun()
    await feed(
      run,
      (s) => s.pipe(earlyStopping({ monitor: 'val/loss', patience: 5 }), earlyStopping({ monitor: 'val/acc', mode: 'max', patience: 5 })),
      [() => run.fitStart(), () => run.epochEnd(0, 4, {}, { 'val/loss': 1, 'val/acc': 0.5 })],
    )
    expect(Object.fromEntries(run.hookStates)).toMatchObject({ earlyStopping: { best: 1, wait: 0 }, 'earlyStopping#2': { best: 0.5, wait: 0 } })
    run.dispose()
  })
  it('fastDevRun never stops', async () => {
    const dev = (run: FakeRun) => [() => run.fitStart({ fastDevRun: true }), () => run.epochEnd(0, 1, {}, { 'val/loss': Number.NaN })]
    expect(await decisions({ monitor: 'val/loss' }, dev)).toBe('FE')
  })
})

describe('in a real run', () => {
  // lr 0: the validation loss never changes, so it never improves after the first epoch.
  const frozen = lineModule(0)

  it('ends the stream with a fitEnd that says why', () => {
    const events = runSync(fit(frozen, tinyData(3, 2), { maxEpochs: 50 }, { backend, signals: quiet }).pipe(earlyStopping({ monitor: 'val/loss', patience: 3 })))
    const end = events.at(-1)
    expect(end?.type === 'fitEnd' && end.reason).toBe('stopRequested')
    expect(end?.type === 'fitEnd' && end.stopReason).toMatch(/^Monitored metric val\/loss did not improve in the last 3 records/)
    expect(events.filter((e) => e.type === 'epochEnd')).toHaveLength(4)
  })

  it('stops at the same epoch behind asynchronous operators (observeOn, concatMap into delay, filter)', async () => {
    const endOf = async (...before: MonoTypeOperatorFunction<FitEvent>[]) => {
      const events = await lastValueFrom(
        fit(frozen, tinyData(3, 2), { maxEpochs: 50 }, { backend, signals: quiet }).pipe(
          (s) => before.reduce((acc, op) => acc.pipe(op), s),
          earlyStopping({ monitor: 'val/loss', patience: 2 }),
          observeOn(asyncScheduler),
          toArray(),
        ),
      )
      const end = events.at(-1)
      return [events.filter((e) => e.type === 'epochEnd').length, end?.type === 'fitEnd' ? end.reason : undefined]
    }
    expect(await endOf()).toEqual([3, 'stopRequested'])
    expect(await endOf(observeOn(asyncScheduler))).toEqual([3, 'stopRequested'])
    expect(await endOf(concatMap((e) => of(e).pipe(delay(0))))).toEqual([3, 'stopRequested'])
    expect(await endOf(filter((e) => e.type !== 'trainStep'), delay(0))).toEqual([3, 'stopRequested'])
  })

  it('waits for minEpochs', () => {
    const events = runSync(fit(frozen, tinyData(3, 2), { maxEpochs: 50, minEpochs: 7 }, { backend, signals: quiet }).pipe(earlyStopping({ monitor: 'val/loss', patience: 1 })))
    expect(events.filter((e) => e.type === 'epochEnd')).toHaveLength(7)
  })

  it('a monitor that is not logged is an error (strict), or skipped (strict: false)', async () => {
    expect((failureOf(fit(frozen, tinyData(3, 2), { maxEpochs: 2 }, { backend, signals: quiet }).pipe(earlyStopping({ monitor: 'val/acc' }))) as Error).message).toMatch(
      /early stopping monitors 'val\/acc', which was not logged[\s\S]*val\/loss/,
    )
    const events = await lastValueFrom(
      fit(frozen, tinyData(3, 2), { maxEpochs: 2 }, { backend, signals: quiet }).pipe(earlyStopping({ monitor: 'val/acc', strict: false }), map((e) => e.type)),
    )
    expect(events).toBe('fitEnd')
  })
})

