import * as tf from '@tensorflow/tfjs-core'
import { asyncScheduler, lastValueFrom, observeOn, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { lrMonitor } from '../../src/hooks/lrMonitor.js'
import { optim } from '../../src/index.js'
import type { EventOf, FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import type { GradientTransform } from '../../src/optim/transform.js'
import { quiet, useBackend } from '../support/backend.js'
import { fakeRun, feed } from '../support/events.js'
import { runSync } from '../support/run.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** The line module with another optimizer, and a constant validation value to drive a plateau. */
const moduleWith = (optimizer: GradientTransform) => {
  const base = lineModule()
  return defineModule({
    ...base,
    validationStep: (model, batch, ctx) => ({ ...base.validationStep?.(model, batch, ctx), 'val/const': 1 }),
    optimizer,
  })
}

const run = (optimizer: GradientTransform, options: TrainerOptions, hook = lrMonitor()) => {
  const seenBefore: FitEvent[] = []
  const events = runSync(
    fit(moduleWith(optimizer), tinyData(3, 1), options, { backend, signals: quiet }).pipe(
      tap((e) => seenBefore.push(e)),
      hook,
    ),
  )
  return { events, seenBefore }
}

/** Rounded past float noise (0.1 − 3·0.025 is 0.024999999999999994). */
const r = (v: number | undefined): number | undefined => (v === undefined ? v : Number(v.toFixed(12)))

const steps = (events: readonly FitEvent[]) => events.filter((e): e is EventOf<FitEvent, 'trainStep'> => e.type === 'trainStep')

// lr(k) = 0.1 − 0.025·k for k ≤ 4, then 0.
const schedule = optim.linearSchedule({ from: 0.1, to: 0, steps: 4 })

describe('lrMonitor', () => {
  it('adds to each trainStep the learning rate its update used, following the schedule', () => {
    const before = tf.memory().numTensors
    const { events, seenBefore } = run(optim.adam({ lr: schedule }), { maxEpochs: 2 })
    expect(tf.memory().numTensors).toBe(before)
    const s = steps(events)
    expect(s.map((e) => [e.logStep, r(e.metrics.lr)])).toEqual([
      [0, 0.1],
      [1, 0.075],
      [2, 0.05],
      [3, 0.025],
      [4, 0],
      [5, 0],
    ])
    // The module's own values are kept; the events the hook was given are not changed.
    expect(s.every((e) => e.metrics['train/loss'] !== undefined)).toBe(true)
    expect(steps(seenBefore).some((e) => 'lr' in e.metrics)).toBe(false)
    expect(events.filter((e) => e.type === 'epochEnd').some((e) => 'lr' in e.metrics)).toBe(false)
  })

  it('within an accumulation window reports the rate of the optimizer step the window ends with', () => {
    // 3 batches an epoch, 2 per step: steps after batches 1 and 2 of each epoch (the last batch steps).
    const { events } = run(optim.adam({ lr: schedule }), { maxEpochs: 2, accumulateGradBatches: 2 })
    expect(steps(events).map((e) => [`${e.epoch}:${e.batchIdx}`, e.optimizerStepped, r(e.metrics.lr)])).toEqual([
      ['0:0', false, 0.1],
      ['0:1', true, 0.1],
      ['0:2', true, 0.075],
      ['1:0', false, 0.05],
      ['1:1', true, 0.05],
      ['1:2', true, 0.025],
    ])
  })

  it("with loggingInterval 'epoch' adds the rate each epoch started with, a plateau's scale included", () => {
    // mode 'max' on a constant: the first observation improves, every later one is bad, and with
    // patience 0 each halves the scale. lr = 0.1 · scale: epochs start at scale 1, 1, 0.5, 0.25.
    const optimizer = optim.chain(optim.adam({ lr: 0.1 }), optim.reduceOnPlateau({ monitor: 'val/const', mode: 'max', patience: 0, factor: 0.5 }))
    const { events, seenBefore } = run(optimizer, { maxEpochs: 4 }, lrMonitor({ loggingInterval: 'epoch' }))
    const ends = events.filter((e): e is EventOf<FitEvent, 'epochEnd'> => e.type === 'epochEnd')
    expect(ends.map((e) => r(e.metrics.lr))).toEqual([0.1, 0.1, 0.05, 0.025])
    const original = seenBefore.filter((e): e is EventOf<FitEvent, 'epochEnd'> => e.type === 'epochEnd')
    ends.forEach((e, i) => expect(e.metrics).toEqual({ ...original[i]?.metrics, lr: e.metrics.lr }))
    expect(original.some((e) => 'lr' in e.metrics)).toBe(false)
    expect(steps(events).some((e) => 'lr' in e.metrics)).toBe(false)
  })

  it('adds momentum and weight decay when asked, under a prefix', () => {
    const optimizer = optim.sgd({ lr: 0.05, momentum: 0.9, weightDecay: 0.01 })
    const plain = steps(run(optimizer, { maxEpochs: 1 }).events)[0]?.metrics
    expect(plain?.lr).toBe(0.05)
    expect(plain !== undefined && 'momentum' in plain).toBe(false)
    const full = steps(run(optimizer, { maxEpochs: 1 }, lrMonitor({ prefix: 'optim/', logMomentum: true, logWeightDecay: true })).events)[0]?.metrics
    expect(full).toMatchObject({ 'optim/lr': 0.05, 'optim/momentum': 0.9, 'optim/weightDecay': 0.01 })
    expect(full !== undefined && 'lr' in full).toBe(false)
  })

  it('passes events through unchanged when the optimizer reports no hyperparameters', () => {
    const optimizer = optim.chain(optim.scaleBySchedule(() => -0.1))
    expect(optimizer.hyperparams).toBeUndefined()
    const { events, seenBefore } = run(optimizer, { maxEpochs: 1 })
    expect(events).toHaveLength(seenBefore.length)
    events.forEach((e, i) => expect(e).toBe(seenBefore[i]))
  })

  it('adds the same rates behind an asynchronous operator (observeOn)', async () => {
    const rates = async (async: boolean) => {
      const events = await lastValueFrom(
        fit(moduleWith(optim.adam({ lr: schedule })), tinyData(3, 1), { maxEpochs: 2 }, { backend, signals: quiet }).pipe(
          async ? observeOn(asyncScheduler) : (s) => s,
          lrMonitor(),
          toArray(),
        ),
      )
      return steps(events).map((e) => [e.logStep, r(e.metrics.lr)])
    }
    const before = tf.memory().numTensors
    const plain = await rates(false)
    expect(plain).toHaveLength(6)
    expect(await rates(true)).toEqual(plain)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("keeps the rate an epoch started with as hook state, and a run resumed inside that epoch adds it at the epoch's end", async () => {
    const run = fakeRun()
    const seen = await feed(run, lrMonitor({ loggingInterval: 'epoch' }), [
      () => run.fitStart({}, { hookStates: { lrMonitor: { lr: 0.05 } } }),
      () => ({ type: 'epochStart', time: 1010, epoch: 1, globalStep: 6, numBatches: 4, firstBatch: 2 }),
      () => run.epochEnd(1, 8, { 'train/loss': 1 }),
    ])
    expect(seen.at(-1)).toMatchObject({ type: 'epochEnd', metrics: { 'train/loss': 1, lr: 0.05 } })
    expect(run.hookStates.get('lrMonitor')).toEqual({ lr: 0.05 })
    run.dispose()
  })
})
