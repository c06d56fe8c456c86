import * as tf from '@tensorflow/tfjs-core'
import { isObservable, lastValueFrom, type MonoTypeOperatorFunction, type Observable, takeWhile, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Backend, withoutHostReads } from '../../src/backends/backend.js'
import { resolvePrecision } from '../../src/backends/precision.js'
import { bufferConsole } from '../../src/effects/console.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { replayEvents } from '../../src/flow/replayEvents.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { progressBar } from '../../src/hooks/progressBar.js'
import { sgd } from '../../src/optim/aliases.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { log } from '../../src/pipeline/logs.js'
import type { Module } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { type TrainStep, trainStep } from '../../src/pipeline/step.js'
import { type TrainedBatch, trainOnBatch } from '../../src/pipeline/trainOnBatch.js'
import { foldIn, key } from '../../src/random/key.js'
import { disposeTree, type Params, tensorsOf } from '../../src/tree/tree.js'
import { lrFind } from '../../src/tuner/lrFind.js'
import { quiet, useBackend } from '../support/backend.js'
import { interruptAndResume } from '../support/resumeRun.js'
import { runSync } from '../support/run.js'
import { lineModule, lineSource, tinyData, type XY } from '../support/tiny.js'
import { classifierSource, movingPartsClassifier } from '../support/classifier.js'

// The loop on a backend without synchronous reads (webgpu in Node), run on cpu: a step whose values
// nobody needs now is not waited for, and its values are read with the next read.

let cpu: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
})

/** `inner` without host reads, counting its reads: calls of `readScalarsAsync` and `read`, and the values they moved. */
const counting = (inner: Backend) => {
  const counts = { reads: 0, values: 0, tensorReads: 0 }
  const backend: Backend = {
    ...withoutHostReads(inner),
    readScalarsAsync: (scalars) => {
      counts.reads++
      counts.values += scalars.reduce((n, t) => n + t.size, 0)
      return inner.readScalarsAsync(scalars)
    },
    read: (t) => {
      counts.tensorReads++
      return inner.read(t)
    },
  }
  return { backend, counts }
}

interface Run {
  readonly events: FitEvent[]
  /** The final state's values (parameters, model state, optimizer state). */
  readonly params: number[][]
  readonly csv: string
  /** Reads made before each trainStep event (deferred backend only). */
  readonly readsAt: number[]
}

const run = async <P extends Params, S extends Params>(module: Module<P, S, XY>, data: Parameters<typeof fit<P, S, XY>>[1], options: TrainerOptions, backend: Backend, counts?: { reads: number }): Promise<Run> => {
  const fs = memoryFileSystem()
  const events: FitEvent[] = []
  const readsAt: number[] = []
  let params: number[][] = []
  await lastValueFrom(
    fit(module, data, { defaultRootDir: '/run', ...options }, { backend, signals: quiet, fs }).pipe(
      csvLogger(),
      tap((e: FitEvent) => {
        events.push(e)
        if (e.type === 'trainStep') readsAt.push(counts?.reads ?? 0)
        // Every tensor of the final state: parameters, model state (batch norm), optimizer state.
        if (e.type === 'fitEnd') params = tensorsOf(e.state).map((t) => Array.from(t.dataSync()))
      }),
      toArray(),
    ),
  )
  return { events, params, csv: new TextDecoder().decode(fs.files.get('/run/metrics.csv')), readsAt }
}

type StepEvent = Extract<FitEvent, { type: 'trainStep' }>
const steps = (events: readonly FitEvent[]) => events.filter((e): e is StepEvent => e.type === 'trainStep')
/**
 * Every event's loop state, side by side with the synchronous run's: equal, except the last step
 * values on the steps that were not read (they stay those read last until the next read).
 */
const expectSameLoops = (deferred: readonly FitEvent[], sync: readonly FitEvent[]) => {
  const loops = (events: readonly FitEvent[]) => events.flatMap((e) => ('loop' in e ? [e.loop] : []))
  const unread = deferred.flatMap((e) => ('loop' in e ? [e.type === 'trainStep' && !e.valuesRead] : []))
  const shown = (events: readonly FitEvent[]) => loops(events).map((l, i) => JSON.stringify(unread[i] === true ? { ...l, lastStepMetrics: 'unread' } : l))
  expect(shown(deferred)).toEqual(shown(sync))
  expect(unread.filter((u) => !u).length).toBeGreaterThan(2)
}


/** The line module with its loss made NaN at batch `k` of each epoch (logged as `train/loss`). */
const nanAt = (k: number): Module<Params, Record<string, never>, XY> => {
  const base = lineModule()
  return {
    ...(base as unknown as Module<Params, Record<string, never>, XY>),
    trainingStep: (model, batch, ctx) => {
      const out = base.trainingStep(model as never, batch, ctx)
      const loss = ctx.batchIdx === k ? tf.mul(out.loss, Number.NaN) : out.loss
      return { loss: loss as tf.Scalar, logs: { 'train/loss': loss } }
    },
  }
}

describe('steps whose values nobody needs are not read (a backend without host reads)', () => {
  it('logEveryNSteps 5 over 12 steps: reads only on logging steps and at the epoch end, one transfer each; parameters and rows bitwise the synchronous run', async () => {
    const { backend, counts } = counting(cpu)
    const options = { maxEpochs: 1, logEveryNSteps: 5 }
    const data = { train: lineSource(12, 1, true) }
    const before = tf.memory().numTensors
    const deferred = await run(lineModule(), data, options, backend, counts)
    expect(tf.memory().numTensors).toBe(before)
    const sync = await run(lineModule(), data, options, cpu)
    // Steps 5 and 10 log; step 12 ends the epoch. Nothing else is read, not even a tensor. Each
    // step's loss, which it also logs as `train/loss`, is one value of the transfer, not two.
    expect(counts).toEqual({ reads: 3, values: 12, tensorReads: 0 })
    expect(deferred.readsAt).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3])
    expect(steps(deferred.events).map((e) => e.valuesRead)).toEqual([false, false, false, false, true, false, false, false, false, true, false, true])
    expect(steps(sync.events).every((e) => e.valuesRead)).toBe(true)
    for (const e of steps(deferred.events).filter((s) => !s.valuesRead)) expect([e.loss, e.metrics, e.progBar]).toEqual([Number.NaN, {}, []])
    const read = (r: Run) => steps(r.events).flatMap((e) => (e.valuesRead ? [[e.batchIdx, e.loss, e.metrics]] : []))
    expect(read(deferred)).toEqual(read(sync).filter(([b]) => b === 4 || b === 9 || b === 11))
    expect(deferred.params).toEqual(sync.params)
    expect(deferred.csv).toBe(sync.csv)
    expect(deferred.csv.trim().split('\n').length).toBe(3)
    // The read that follows brings the last step values up to date: every read step's loop state is the synchronous run's.
    expectSameLoops(deferred.events, sync.events)
  })

  it('with validation and two epochs: the same events, loop states, rows and parameters as the synchronous run', async () => {
    const { backend, counts } = counting(cpu)
    const options = { maxEpochs: 2, logEveryNSteps: 5, valCheckInterval: 6 }
    const deferred = await run(lineModule(), tinyData(12, 2), options, backend, counts)
    const sync = await run(lineModule(), tinyData(12, 2), options, cpu)
    expect(deferred.params).toEqual(sync.params)
    expect(deferred.csv).toBe(sync.csv)
    expect(deferred.events.map((e) => e.type)).toEqual(sync.events.map((e) => e.type))
    expectSameLoops(deferred.events, sync.events)
    const epochEnds = (r: Run) => r.events.flatMap((e) => (e.type === 'epochEnd' ? [[e.metrics, e.callbackMetrics]] : []))
    expect(epochEnds(deferred)).toEqual(epochEnds(sync))
    // Read: the logging steps (global steps 5, 10, 15, 20), the steps validation follows (6, 12, 18, 24).
    expect(steps(deferred.events).flatMap((e) => (e.valuesRead ? [e.globalStep] : []))).toEqual([5, 6, 10, 12, 15, 18, 20, 24])
  })

  it('a module with dropout, batch norm and a logged metric state: parameters, model state and rows bitwise the synchronous run', async () => {
    const { backend, counts } = counting(cpu)
    const module = () => movingPartsClassifier({ dropout: 0.5, lr: 0.01 }) as unknown as Module<Params, Params, XY>
    const options = { maxEpochs: 2, logEveryNSteps: 4 }
    const data = { train: classifierSource(10, 6) as unknown as ReturnType<typeof lineSource> }
    const before = tf.memory().numTensors
    const deferred = await run(module(), data, options, backend, counts)
    expect(tf.memory().numTensors).toBe(before)
    const sync = await run(module(), data, options, cpu)
    expect(deferred.params).toEqual(sync.params)
    expect(deferred.csv).toBe(sync.csv)
    expectSameLoops(deferred.events, sync.events)
    // Global steps 4, 8, 12, 16, 20 log; 10 and 20 end an epoch.
    expect(counts.reads).toBe(6)
  })

  it('a step returns synchronously when it is not read, and its values come with the next read, in one transfer', () => {
    const { backend, counts } = counting(cpu)
    const module = lineModule() as unknown as Module<Params, Params, XY>
    const step = trainStep(module, module.optimizer)
    const before = tf.memory().numTensors
    const state0 = cpu.scoped(() => step.init(module.init(key(0))))
    const batch = () => tf.tidy(() => ({ x: tf.tensor2d([[0.5]]), y: tf.tensor2d([[2]]) }))
    const ctx = (batchIdx: number) => ({ stage: 'train' as const, training: true, key: foldIn(key(1), batchIdx), epoch: 0, batchIdx, globalStep: batchIdx, lossScale: { scale: 1, goodSteps: 0 }, optimizerStep: true })
    const args = { module, optimizer: step.optimizer, precision: step.precision, plan: { accumulateGradBatches: 1 }, step, backend }
    const first = trainOnBatch({ ...args, state: state0, batch: batch(), ctx: ctx(0), deferRead: true })
    expect(isObservable(first) || (first as unknown) instanceof Promise).toBe(false)
    const one = first as TrainedBatch<Params, Params>
    expect([one.loss, one.logs, one.unread?.length, counts.reads]).toEqual([Number.NaN, [], 1, 0])
    const second = trainOnBatch({ ...args, state: one.state, batch: batch(), ctx: ctx(1), unread: one.unread })
    expect(isObservable(second)).toBe(true)
    let two: TrainedBatch<Params, Params> | undefined
    ;(second as Observable<TrainedBatch<Params, Params>>).subscribe((t) => (two = t))
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(counts.reads).toBe(1)
        expect(two?.unread ?? []).toEqual([])
        expect(two?.lateLogs?.length).toBe(1)
        expect(Number.isFinite(two?.lateLogs?.[0]?.[0]?.value)).toBe(true)
        disposeTree(two?.state)
        expect(tf.memory().numTensors).toBe(before)
        resolve()
      }, 20),
    )
  })

  it('a non-finite loss on a step that was not read fails the run with the error of the synchronous run, naming that step', async () => {
    // The loss turns NaN at batch 2 (then stays so: the parameters become NaN).
    const nanAt2 = nanAt(2)
    const failure = async (backend: Backend) => {
      const before = tf.memory().numTensors
      const events: FitEvent[] = []
      const error = await lastValueFrom(fit(nanAt2, { train: lineSource(8, 1) }, { maxEpochs: 1, logEveryNSteps: 5 }, { backend, signals: quiet }).pipe(tap((e: FitEvent) => events.push(e)))).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(tf.memory().numTensors).toBe(before)
      return { error, steps: steps(events).length }
    }
    const sync = await failure(cpu)
    const deferred = await failure(counting(cpu).backend)
    expect(sync.error?.message).toContain('at epoch 0, batch 2 (global step 2)')
    expect(deferred.error?.message).toBe(sync.error?.message)
    // Found at the read of step 5 (the first logging step): steps 3 and 4 ran meanwhile.
    expect([sync.steps, deferred.steps]).toEqual([2, 4])
  })

  it('a source of unknown length: the steps left unread are read when it runs out (a non-finite loss among them fails the run there)', async () => {
    const unknownLength = (source: ReturnType<typeof lineSource>) => ({ open: source.open }) as ReturnType<typeof lineSource>
    const { backend, counts } = counting(cpu)
    const options = { maxEpochs: 2, logEveryNSteps: 5 }
    const deferred = await run(lineModule(), { train: unknownLength(lineSource(7, 1, true)) }, options, backend, counts)
    const sync = await run(lineModule(), { train: unknownLength(lineSource(7, 1, true)) }, options, cpu)
    expect(deferred.params).toEqual(sync.params)
    expect(deferred.csv).toBe(sync.csv)
    expectSameLoops(deferred.events, sync.events)
    // Each epoch's last step is not known to be last: it stays unread until the source runs out.
    expect(steps(deferred.events).at(-1)?.valuesRead).toBe(false)
    expect(counts.reads).toBe(4)
    const nanAtLast = nanAt(6)
    const before = tf.memory().numTensors
    const error = await lastValueFrom(fit(nanAtLast, { train: unknownLength(lineSource(7, 1)) }, options, { backend, signals: quiet })).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.message).toContain('the training loss is NaN at epoch 0, batch 6 (global step 6)')
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a step that logs per epoch is read at once: the epoch aggregates are exact at every event', async () => {
    const base = lineModule()
    const perEpoch: Module<Params, Record<string, never>, XY> = {
      ...(base as unknown as Module<Params, Record<string, never>, XY>),
      trainingStep: (model, batch, ctx) => {
        const out = base.trainingStep(model as never, batch, ctx)
        return { loss: out.loss, logs: { 'train/loss': log(out.loss, { onEpoch: true, progBar: true }) } }
      },
    }
    const { backend, counts } = counting(cpu)
    const options = { maxEpochs: 1, logEveryNSteps: 5 }
    const deferred = await run(perEpoch, { train: lineSource(12, 1, true) }, options, backend, counts)
    const sync = await run(perEpoch, { train: lineSource(12, 1, true) }, options, cpu)
    expect(counts.reads).toBe(12)
    expect(steps(deferred.events).every((e) => e.valuesRead)).toBe(true)
    expect(JSON.stringify(deferred.events.map((e) => ('loop' in e ? e.loop : e.type)))).toBe(JSON.stringify(sync.events.map((e) => ('loop' in e ? e.loop : e.type))))
    expect(deferred.csv).toBe(sync.csv)
  })

  it('interrupted on a step that was not read and resumed: bitwise the uninterrupted run, and the synchronous one', async () => {
    const options = { maxEpochs: 2, logEveryNSteps: 5 }
    const data = { train: lineSource(6, 1, true) }
    const { backend } = counting(cpu)
    let unreadAtInterrupt: boolean | undefined
    const { full, resumed } = await interruptAndResume(lineModule(), data, options, backend, (e) => {
      const hit = e.type === 'trainStep' && e.epoch === 0 && e.batchIdx === 2
      if (hit) unreadAtInterrupt = !e.valuesRead
      return hit
    })
    expect(unreadAtInterrupt).toBe(true)
    expect(resumed.params).toEqual(full.params)
    const sync = await run(lineModule(), data, options, cpu)
    expect(full.params).toEqual(sync.params)
  })

  it('releases every tensor when the run is unsubscribed with steps unread', async () => {
    const { backend } = counting(cpu)
    const before = tf.memory().numTensors
    let unread = 0
    // Unsubscribed (takeWhile) on the event of step 3, with steps 1 to 3 unread.
    await lastValueFrom(
      fit(lineModule(), { train: lineSource(12, 1) }, { maxEpochs: 1, logEveryNSteps: 5 }, { backend, signals: quiet }).pipe(
        tap((e: FitEvent) => {
          if (e.type === 'trainStep' && !e.valuesRead) unread++
        }),
        takeWhile((e) => !(e.type === 'trainStep' && e.batchIdx === 2)),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(unread).toBe(3)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('lrFind smooths every optimizer step: the same curve without host reads', async () => {
    const options = { optimizer: (lr: (step: number) => number) => sgd({ lr }), numTraining: 8, minLr: 1e-4, maxLr: 1 }
    const { backend } = counting(cpu)
    const sync = await lastValueFrom(lrFind(lineModule(), { train: lineSource(10, 1) }, options, { backend: cpu, signals: quiet }))
    const deferred = await lastValueFrom(lrFind(lineModule(), { train: lineSource(10, 1) }, options, { backend, signals: quiet }))
    expect(sync.losses.length).toBe(8)
    expect(deferred).toEqual(sync)
  })
})

describe('a finiteness flag decided on the device (C1)', () => {
  it('is read with the loss, never deferred: gradsFinite and the loss scale follow it, and the flag is released', async () => {
    const { backend, counts } = counting(cpu)
    const module = lineModule() as unknown as Module<Params, Params, XY>
    const precision = resolvePrecision('16-mixed')
    const base = trainStep(module, module.optimizer)
    for (const finite of [true, false]) {
      // A step as a device decision leaves it: the flag (shape [1]) and no `settle`.
      const flagged: TrainStep<Params, Params, XY> = Object.assign((s: Parameters<typeof base>[0], b: XY, c: Parameters<typeof base>[2]) => ({ ...base(s, b, c), finiteFlag: tf.tensor1d([finite], 'bool') }), base)
      const before = tf.memory().numTensors
      const state = cpu.scoped(() => base.init(module.init(key(0))))
      const batch = tf.tidy(() => ({ x: tf.tensor2d([[0.5]]), y: tf.tensor2d([[2]]) }))
      const lossScale = { scale: 1024, goodSteps: 3 }
      const ctx = { stage: 'train' as const, training: true, key: key(1), epoch: 0, batchIdx: 0, globalStep: 0, lossScale, optimizerStep: true }
      const out = trainOnBatch({ module, optimizer: base.optimizer, precision, plan: { accumulateGradBatches: 1 }, step: flagged, backend, state, batch, ctx, deferRead: true })
      expect(isObservable(out)).toBe(true)
      const trained = await lastValueFrom(out as Observable<TrainedBatch<Params, Params>>)
      expect([trained.gradsFinite, trained.lossScale]).toEqual([finite, precision.nextScale(lossScale, finite)])
      expect(trained.lossScale).not.toEqual(lossScale)
      disposeTree(trained.state)
      expect(tf.memory().numTensors).toBe(before)
    }
    expect(counts.reads).toBe(2)
  })
})

describe('progressBar on steps that were not read', () => {
  it('shows the values read last, not NaN', () => {
    const out = bufferConsole(false)
    const event = (e: Record<string, unknown>): FitEvent => ({ epoch: 0, globalStep: 0, ...e }) as unknown as FitEvent
    const step = (batchIdx: number, time: number, loss: number, valuesRead: boolean): FitEvent =>
      event({ type: 'trainStep', batchIdx, time, loss: valuesRead ? loss : Number.NaN, valuesRead, metrics: valuesRead ? { 'train/acc': loss / 2 } : {}, progBar: valuesRead ? ['train/acc'] : [] })
    const events = [
      event({ type: 'fitStart', time: 0, plan: { maxEpochs: 1 } }),
      event({ type: 'epochStart', time: 0, numBatches: 8, firstBatch: 0 }),
      step(0, 500, 1.5, false),
      step(1, 1000, 1.25, true),
      step(2, 1500, 0, false),
      step(3, 2000, 0, false),
    ]
    runSync(replayEvents(events, { env: { console: out } }).pipe(progressBar({ everyNSteps: 2, digits: 2 }) as MonoTypeOperatorFunction<FitEvent>))
    expect(out.lines).toEqual(['epoch 1/1 · 2/8 · 2.0 it/s · ETA 3.0s · loss 1.25 · train/acc 0.63', 'epoch 1/1 · 4/8 · 2.0 it/s · ETA 2.0s · loss 1.25 · train/acc 0.63'])
  })
})
