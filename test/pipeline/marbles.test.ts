import * as tf from '@tensorflow/tfjs-core'
import { map, type Observable, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { withPrefetch } from '../../src/data/prefetch.js'
import type { BatchSource } from '../../src/data/source.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { workWhen } from '../support/hooks.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/**
 * One letter per event: F fitStart, S sanityCheckStart, v validationStep, s sanityCheckEnd,
 * e epochStart, t trainStep with an optimizer step, a trainStep that only accumulates,
 * V validationStart, W validationEnd, E epochEnd, Z fitEnd, ! warning.
 */
const letter = (e: FitEvent): string =>
  ({
    fitStart: 'F',
    warning: '!',
    sanityCheckStart: 'S',
    validationStep: 'v',
    sanityCheckEnd: 's',
    epochStart: 'e',
    trainStep: e.type === 'trainStep' && !e.optimizerStepped ? 'a' : 't',
    validationStart: 'V',
    validationEnd: 'W',
    epochEnd: 'E',
    fitEnd: 'Z',
  })[e.type]

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

/** A source whose every pull takes `pullMarble` (e.g. '10ms (a|)') and yields a fresh batch. */
const timedSource = (inner: BatchSource<XY>, pull: Observable<unknown>): BatchSource<XY> => ({
  numBatches: inner.numBatches,
  open: (order) => {
    const it = inner.open(order)
    return {
      next: () => pull.pipe(map(() => it.next() as IteratorResult<XY, undefined>)),
      close: () => it.close(),
    }
  },
})

describe('schedule marbles (synchronous data: the whole run is one frame)', () => {
  const marble = (T: number, V: number, options: TrainerOptions, expected: string) =>
    scheduler().run(({ expectObservable }) => {
      expectObservable(fit(lineModule(), tinyData(T, V), options, { backend, signals: quiet }).pipe(map(letter))).toBe(expected)
    })

  it('sanity validation, then one validation at the end of the epoch', () =>
    marble(3, 2, { maxEpochs: 1 }, '(FSvvsetttVvvWEZ|)'))
  it('by default validation follows the last batch of each epoch', () =>
    marble(5, 1, { maxEpochs: 1, numSanityValSteps: 0 }, '(FetttttVvWEZ|)'))
  it('valCheckInterval: 2 (count)', () =>
    marble(5, 1, { maxEpochs: 1, numSanityValSteps: 0, valCheckInterval: 2 }, '(FettVvWttVvWtEZ|)'))
  it('checkValEveryNEpoch: 2 skips validation in odd epochs', () =>
    marble(2, 1, { maxEpochs: 2, numSanityValSteps: 0, checkValEveryNEpoch: 2 }, '(FettEettVvWEZ|)'))
  it('limitTrainBatches and limitValBatches', () =>
    marble(9, 9, { maxEpochs: 1, limitTrainBatches: 2, limitValBatches: 1, numSanityValSteps: 1 }, '(FSvsettVvWEZ|)'))
  it('maxSteps cuts the epoch without validating', () =>
    marble(5, 1, { maxSteps: 3, numSanityValSteps: 0 }, '(FetttEZ|)'))
  it('accumulateGradBatches: 2 steps every second batch and on the last', () =>
    marble(5, 1, { maxEpochs: 1, numSanityValSteps: 0, accumulateGradBatches: 2 }, '(FeatattVvWEZ|)'))
})

describe('timed marbles', () => {
  it('waits for each pull: events happen when batches arrive', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const trainPull = cold('10ms (a|)')
      const valPull = cold('10ms (a|)')
      const data = tinyData(2, 1)
      const timed = { train: timedSource(data.train!, trainPull), val: timedSource(data.val!, valPull) }
      const run = fit(lineModule(), timed, { maxEpochs: 1, numSanityValSteps: 1 }, { backend, signals: quiet }).pipe(map(letter))
      expectObservable(run).toBe('(FS) 6ms (vse) 5ms t 9ms (tV) 6ms (vWEZ|)')
      expectSubscriptions(trainPull.subscriptions).toBe(['10ms ^ 9ms !', '20ms ^ 9ms !'])
      expectSubscriptions(valPull.subscriptions).toBe(['^ 9ms !', '30ms ^ 9ms !'])
    })
  })

  it('pulls no batch before the previous step (and its hooks) finished', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const trainPull = cold('5ms (a|)')
      const data = tinyData(3, 1)
      const holdEachStep = workWhen((e) => e.type === 'trainStep', () => timer(5))
      const run = fit(lineModule(), { train: timedSource(data.train!, trainPull) }, { maxEpochs: 1 }, { backend, signals: quiet }).pipe(holdEachStep, map(letter))
      // pull 5 frames, step, hold 5 frames, only then the next pull
      expectObservable(run).toBe('(Fe) 1ms t 9ms t 9ms t 4ms (EZ|)')
      expectSubscriptions(trainPull.subscriptions).toBe(['^ 4ms !', '10ms ^ 4ms !', '20ms ^ 4ms !'])
    })
  })

  it('a prefetching source stays at most `depth` batches ahead of training', () => {
    scheduler().run(({ cold, expectSubscriptions, expectObservable }) => {
      const trainPull = cold('5ms (a|)')
      const data = tinyData(4, 1)
      const source = withPrefetch(timedSource(data.train!, trainPull), 1)
      const slowSteps = workWhen((e) => e.type === 'trainStep', () => timer(10))
      const run = fit(lineModule(), { train: source }, { maxEpochs: 1 }, { backend, signals: quiet }).pipe(slowSteps, map(letter))
      expectObservable(run).toBe('(Fe) 1ms t 9ms t 9ms t 9ms t 9ms (EZ|)')
      // The first pull starts the batch needed plus one ahead; afterwards one new pull per finished
      // step, however fast the source is (the last one finds the end of the pass).
      expectSubscriptions(trainPull.subscriptions).toBe(['^ 4ms !', '^ 4ms !', '15ms ^ 4ms !', '25ms ^ 4ms !', '35ms ^ 4ms !'])
    })
  })

  it('unsubscribing mid-epoch cancels the pending pull and releases every tensor', () => {
    const before = tf.memory().numTensors
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const trainPull = cold('10ms (a|)')
      const data = tinyData(5, 1)
      const run = fit(lineModule(), { train: timedSource(data.train!, trainPull) }, { maxEpochs: 1 }, { backend, signals: quiet }).pipe(map(letter))
      expectObservable(run, '25ms !').toBe('(Fe) 6ms t 9ms t')
      expectSubscriptions(trainPull.subscriptions).toBe(['^ 9ms !', '10ms ^ 9ms !', '20ms ^ 4ms !'])
    })
    expect(tf.memory().numTensors).toBe(before)
  })
})
