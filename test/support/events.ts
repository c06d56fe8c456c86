import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, type Observable, tap } from 'rxjs'
import type { Env } from '../../src/effects/env.js'
import { replayEvents } from '../../src/flow/replayEvents.js'
import type { EpochEnd, FitEnd, FitEndReason, FitEvent, FitStart, HookStates, Metrics, TrainState, TrainStep, ValidationEnd } from '../../src/pipeline/events.js'
import { initialLoopState, type LoopState } from '../../src/core/loopState.js'
import { defaultOptions } from '../../src/pipeline/options.js'
import type { LoopPlan } from '../../src/pipeline/plan.js'
import { identity } from '../../src/optim/identity.js'

/**
 * Hand-made fit events for testing a hook on its own, and one small live train state shared by
 * every event. `feed` replays them through the hook as a run would (`replayEvents`) and records
 * what the hooks sent back: stop requests, their states after each event, and which events
 * were held (asked for work the run waited for).
 */
export interface FakeRun {
  readonly state: TrainState
  readonly stops: string[]
  /** The stop requested at each settled event (undefined: none), in order. */
  readonly outcomes: (string | undefined)[]
  /** Every hook's state after the latest settled event, by key. */
  readonly hookStates: Map<string, unknown>
  fitStart(plan?: Partial<LoopPlan>, resumed?: { hookStates: HookStates; loop?: LoopState }, defaultRootDir?: string): FitStart
  trainStep(epoch: number, batchIdx: number, globalStep: number, metrics?: Metrics, time?: number): TrainStep
  validationEnd(epoch: number, batchIdx: number, globalStep: number, metrics: Metrics): ValidationEnd
  epochEnd(epoch: number, globalStep: number, metrics?: Metrics, callbackMetrics?: Metrics): EpochEnd
  fitEnd(reason: FitEndReason, epoch: number, globalStep: number): FitEnd
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
  const stops: string[] = []
  const outcomes: (string | undefined)[] = []
  const hookStates = new Map<string, unknown>()
  let count = 0
  const base = (time = 1000 + count * 10) => {
    count++
    return { time }
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
    stops,
    outcomes,
    hookStates,
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
      valuesRead: true,
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
    dispose: () => tf.dispose(state.params.w as tf.Tensor),
  }
}

/**
 * Feeds events through an operator as a run does (each event settled, its work done, before the
 * next), with the given capabilities; records stops and hook states in `run`. A first `fitStart`
 * with `resumed` restores the hooks' states from it, as `fit` does. Rejects with the run's error.
 */
export const feed = async (
  run: FakeRun,
  operator: (s: Observable<FitEvent>) => Observable<FitEvent>,
  events: (() => FitEvent)[],
  env: Partial<Env> = {},
): Promise<FitEvent[]> => {
  const [first, ...rest] = events
  if (first === undefined) return []
  const start = first()
  const seen: FitEvent[] = []
  await lastValueFrom(
    replayEvents<FitEvent>([start, ...rest], {
      env,
      ...(start.type === 'fitStart' && start.resumed !== undefined && { hookStates: start.resumed.hookStates }),
      onSettled: (_, outcome, states) => {
        run.outcomes.push(outcome.stop)
        if (outcome.stop !== undefined) run.stops.push(outcome.stop)
        run.hookStates.clear()
        for (const [k, v] of Object.entries(states)) run.hookStates.set(k, v)
      },
    }).pipe(operator, tap((e) => seen.push(e))),
    { defaultValue: undefined },
  )
  return seen
}
