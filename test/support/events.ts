import * as tf from '@tensorflow/tfjs-core'
import { from, lastValueFrom, type ObservableInput } from 'rxjs'
import type { EpochEnd, FitEnd, FitEndReason, FitEvent, FitStart, HookStates, LoopControl, Metrics, TrainState, TrainStep, ValidationEnd } from '../../src/pipeline/events.js'
import { initialLoopState, type LoopState } from '../../src/pipeline/loopState.js'
import { defaultOptions } from '../../src/pipeline/options.js'
import type { LoopPlan } from '../../src/pipeline/plan.js'
import { identity } from '../../src/optim/identity.js'

/**
 * Hand-made fit events for testing a hook on its own: a fake loop control that records holds,
 * stop requests and hook states, and one small live train state shared by every event.
 */
export interface FakeRun {
  readonly state: TrainState
  readonly holds: (ObservableInput<unknown> | (() => ObservableInput<unknown>))[]
  readonly stops: string[]
  readonly hookStates: Map<string, unknown>
  /** Which events asked for a hold, by index of creation. */
  readonly held: Set<number>
  fitStart(plan?: Partial<LoopPlan>, resumed?: { hookStates: HookStates; loop?: LoopState }, defaultRootDir?: string): FitStart
  trainStep(epoch: number, batchIdx: number, globalStep: number, metrics?: Metrics, time?: number): TrainStep
  validationEnd(epoch: number, batchIdx: number, globalStep: number, metrics: Metrics): ValidationEnd
  epochEnd(epoch: number, globalStep: number, metrics?: Metrics, callbackMetrics?: Metrics): EpochEnd
  fitEnd(reason: FitEndReason, epoch: number, globalStep: number): FitEnd
  /** Runs every recorded hold in order (as the loop would, one event at a time). */
  runHolds(): Promise<void>
  dispose(): void
}

const plan0: LoopPlan = {
  numTrainBatches: 4,
  numValBatches: 2,
  valCheckBatch: 4,
  checkValEveryNEpoch: 1,
  numSanityBatches: 0,
  maxEpochs: 10,
  maxSteps: Number.POSITIVE_INFINITY,
  minEpochs: 0,
  minSteps: 0,
  accumulateGradBatches: 1,
  logEveryNSteps: 1,
  noShuffle: false,
  fastDevRun: false,
  estimatedSteppingBatches: 40,
  seed: 0,
}

export const fakeRun = (): FakeRun => {
  const state: TrainState = { params: { w: tf.tensor1d([1, 2, 3]) }, state: {}, optState: [], gradAccumulator: null }
  const holds: FakeRun['holds'] = []
  const stops: string[] = []
  const hookStates = new Map<string, unknown>()
  const held = new Set<number>()
  let count = 0
  const base = (time = 1000 + count * 10) => {
    const index = count++
    const control: LoopControl = {
      hold: (w) => {
        holds.push(w)
        held.add(index)
      },
      requestStop: (r) => {
        stops.push(r)
      },
      stopRequested: () => stops.length > 0,
      pendingStop: () => stops[0],
      setHookState: (n, s) => {
        hookStates.set(n, s)
      },
      hookStates: () => Object.fromEntries(hookStates),
    }
    return { time, control }
  }
  const loop = (phase: LoopState['phase'], epoch: number, batchIdx: number, globalStep: number): LoopState => ({
    ...initialLoopState(0, { scale: 1, goodSteps: 0 }),
    phase,
    epoch,
    batchIdx,
    globalStep,
  })
  return {
    state,
    holds,
    stops,
    hookStates,
    held,
    fitStart: (plan = {}, resumed, defaultRootDir = '/run') => ({
      type: 'fitStart',
      ...base(1000),
      plan: { ...plan0, ...plan },
      options: { ...defaultOptions, defaultRootDir },
      backend: 'cpu',
      accelerator: { requested: 'env', backend: 'cpu', description: 'cpu', skipped: [] },
      optimizer: identity(),
      state,
      loop: resumed?.loop ?? loop('fitStart', 0, -1, 0),
      resumed: resumed === undefined ? undefined : { from: '/old', loop: resumed.loop ?? loop('epochEnd', 0, 3, 4), hookStates: resumed.hookStates },
    }),
    trainStep: (epoch, batchIdx, globalStep, metrics = {}, time) => ({
      type: 'trainStep',
      ...base(time),
      epoch,
      batchIdx,
      globalStep,
      totalBatches: globalStep,
      optimizerStepped: true,
      stepSkipped: false,
      loss: 1,
      metrics,
      progBar: [],
      shouldLog: true,
      logStep: globalStep - 1,
      batchSize: 1,
      state,
      loop: loop('afterStep', epoch, batchIdx, globalStep),
    }),
    validationEnd: (epoch, batchIdx, globalStep, metrics) => ({
      type: 'validationEnd',
      ...base(),
      epoch,
      globalStep,
      batchIdx,
      logStep: globalStep - 1,
      metrics,
      progBar: [],
      state,
      loop: loop('afterValidation', epoch, batchIdx, globalStep),
    }),
    epochEnd: (epoch, globalStep, metrics = {}, callbackMetrics = metrics) => ({
      type: 'epochEnd',
      ...base(),
      epoch,
      globalStep,
      logStep: globalStep,
      metrics,
      callbackMetrics,
      progBar: [],
      state,
      loop: loop('epochEnd', epoch, 3, globalStep),
    }),
    fitEnd: (reason, epoch, globalStep) => ({
      type: 'fitEnd',
      ...base(),
      epoch,
      globalStep,
      reason,
      stopReason: undefined,
      state,
      loop: loop('epochEnd', epoch, 3, globalStep),
    }),
    runHolds: async () => {
      for (const h of holds.splice(0)) await lastValueFrom(from(typeof h === 'function' ? h() : h), { defaultValue: undefined })
    },
    dispose: () => tf.dispose(state.params.w as tf.Tensor),
  }
}

/** Feeds events through an operator one at a time, running each event's holds before the next (as the loop does). */
export const feed = async (run: FakeRun, operator: (s: import('rxjs').Observable<FitEvent>) => import('rxjs').Observable<FitEvent>, events: (() => FitEvent)[]): Promise<void> => {
  const { Subject } = await import('rxjs')
  const subject = new Subject<FitEvent>()
  const errors: unknown[] = []
  const sub = operator(subject).subscribe({ error: (e: unknown) => errors.push(e) })
  for (const make of events) {
    subject.next(make())
    if (errors.length > 0) break
    await run.runHolds()
  }
  subject.complete()
  sub.unsubscribe()
  if (errors.length > 0) throw errors[0]
}
