import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { stopWhen } from '../support/hooks.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, scheduleOf, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** Runs fit with a hook that requests a stop at the first event matching `when`. */
const runStopping = (T: number, V: number, options: TrainerOptions, when: (e: FitEvent) => boolean): FitEvent[] => {
  const events: FitEvent[] = []
  fit(lineModule(), tinyData(T, V), options, { backend, signals: quiet })
    .pipe(stopWhen(when))
    .subscribe({ next: (e) => events.push(e), error: (e: unknown) => { throw e } })
  return events
}

describe('stop requests (Lightning trainer.should_stop)', () => {
  it('a stop inside an epoch validates at that batch, ends the epoch and ends fit', () => {
    const events = runStopping(10, 2, { maxEpochs: 5 }, (e) => e.type === 'trainStep' && e.batchIdx === 3)
    const s = scheduleOf(events)
    expect(s.trainSteps).toBe(4)
    expect(s.validations).toEqual(['0:3'])
    expect(s.epochs).toBe(1)
    const end = events.at(-1)
    expect(end?.type === 'fitEnd' && end.reason).toBe('stopRequested')
    expect(end?.type === 'fitEnd' && end.stopReason).toBe('test asked')
  })

  it('a stop at validation end stops without a second validation', () => {
    const s = scheduleOf(runStopping(10, 2, { maxEpochs: 5, valCheckInterval: 4 }, (e) => e.type === 'validationEnd'))
    expect(s.validations).toEqual(['0:3'])
    expect(s.trainSteps).toBe(4)
  })

  it('waits for minEpochs: the stop is honoured at the end of the epoch that reaches it', () => {
    const events = runStopping(5, 2, { maxEpochs: 10, minEpochs: 2 }, (e) => e.type === 'trainStep' && e.batchIdx === 1)
    const s = scheduleOf(events)
    expect(s.epochs).toBe(2)
    expect(s.trainSteps).toBe(10)
    // validations are the regular end-of-epoch ones only
    expect(s.validations).toEqual(['0:4', '1:4'])
  })

  it('waits for minSteps, then validates where it stops', () => {
    const s = scheduleOf(runStopping(10, 2, { maxEpochs: 10, minSteps: 7, minEpochs: 0 }, (e) => e.type === 'trainStep' && e.batchIdx === 1))
    expect(s.trainSteps).toBe(7)
    expect(s.validations).toEqual(['0:6'])
  })

  it('minSteps without minEpochs makes minEpochs 1, as in Lightning: the stop waits for the first epoch too', () => {
    const s = scheduleOf(runStopping(10, 2, { maxEpochs: 10, minSteps: 7 }, (e) => e.type === 'trainStep' && e.batchIdx === 1))
    expect(s.trainSteps).toBe(10)
    expect(s.validations).toEqual(['0:9'])
  })

  it('a stop requested at epoch start runs no batch of that epoch (Lightning checks before each batch)', () => {
    const events = runStopping(5, 2, { maxEpochs: 10 }, (e) => e.type === 'epochStart' && e.epoch === 1)
    const s = scheduleOf(events)
    expect(s.trainSteps).toBe(5)
    expect(s.epochs).toBe(2)
    expect(s.validations).toEqual(['0:4'])
  })

  it('a stop requested at epoch end stops before the next epoch', () => {
    const s = scheduleOf(runStopping(3, 2, { maxEpochs: 10 }, (e) => e.type === 'epochEnd'))
    expect(s.epochs).toBe(1)
    expect(s.trainSteps).toBe(3)
  })

  it('maxSteps cutting an epoch still counts the epoch and does not validate off a validation point', () => {
    const events = runStopping(10, 2, { maxSteps: 4 }, () => false)
    const s = scheduleOf(events)
    expect(s.trainSteps).toBe(4)
    expect(s.validations).toEqual([])
    expect(s.epochs).toBe(1)
    const end = events.at(-1)
    expect(end?.type === 'fitEnd' && end.reason).toBe('maxSteps')
  })
})

describe('other schedule options', () => {
  const run = (T: number, V: number, options: TrainerOptions) => runStopping(T, V, options, () => false)

  it('checkValEveryNEpoch: null counts valCheckInterval across epochs', () => {
    expect(scheduleOf(run(4, 1, { maxEpochs: 3, valCheckInterval: 5, checkValEveryNEpoch: null })).validations).toEqual(['1:0', '2:1'])
  })

  it('overfitBatches trains on the first n batches unshuffled and validates on the first n val batches', () => {
    const events = run(10, 6, { maxEpochs: 2, overfitBatches: 2 })
    const s = scheduleOf(events)
    expect(s.trainSteps).toBe(4)
    expect(s.valBatches).toEqual([2, 2])
    const firstLosses = events.filter((e) => e.type === 'trainStep').map((e) => (e.type === 'trainStep' ? e.batchIdx : -1))
    expect(firstLosses).toEqual([0, 1, 0, 1])
  })

  it('fastDevRun: true runs one batch of each and no sanity check', () => {
    const s = scheduleOf(run(10, 4, { fastDevRun: true, maxEpochs: 5 }))
    expect(s).toMatchObject({ trainSteps: 1, globalStep: 1, validations: ['0:0'], valBatches: [1], sanityBatches: 0, epochs: 1 })
  })

  it('limitTrainBatches: 0 runs the sanity check and no training', () => {
    const events = run(10, 4, { limitTrainBatches: 0 })
    expect(scheduleOf(events)).toMatchObject({ trainSteps: 0, sanityBatches: 2, epochs: 0 })
    const end = events.at(-1)
    expect(end?.type === 'fitEnd' && end.reason).toBe('noTrainBatches')
  })

  it('maxEpochs: 0 trains nothing', () => {
    expect(scheduleOf(run(10, 4, { maxEpochs: 0 })).trainSteps).toBe(0)
  })

  it('limitValBatches as a fraction', () => {
    expect(scheduleOf(run(4, 8, { maxEpochs: 1, limitValBatches: 0.25 })).valBatches).toEqual([2])
  })

  it('shouldLog follows logEveryNSteps on optimizer steps only', () => {
    const events = run(10, 2, { maxEpochs: 1, logEveryNSteps: 2, accumulateGradBatches: 2 })
    const logged = events.flatMap((e) => (e.type === 'trainStep' && e.shouldLog ? [`${e.batchIdx}@${e.globalStep}`] : []))
    expect(logged).toEqual(['3@2', '7@4'])
  })
})
