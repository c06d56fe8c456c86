import { isObservable } from 'rxjs'
import { interruptLatch } from '../effects/interruptLatch.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type Program, wait } from '../flow/drive.js'
import { restoreStates, settleFlow } from '../flow/flow.js'
import { publish } from '../flow/publish.js'
import { averagedParams } from '../optim/ema.js'
import { foldIn, key, split } from '../random/key.js'
import type { Params } from '../tree/tree.js'
import { pullBatch } from './batches.js'
import { emptySource, type WarningText } from './emptySource.js'
import { type EvaluationResult, evaluationPass } from './evaluationPass.js'
import type { FitEvent, TrainState, WarningKind } from './events.js'
import type { FitProgramArgs } from './fitProgramArgs.js'
import { epochLogStep, epochValues, plainEpochNames, progressBarNames, type ReadLog, stepValues } from './logs.js'
import type { LoopState } from '../core/loopState.js'
import { type LookaheadIterator, lookahead, overlapped } from './lookahead.js'
import {
  type Action,
  batchTrained,
  epochEnded,
  epochStarted,
  nextAction,
  requestStop,
  shouldLogStep,
  sourceRanOut,
  validated,
  validationBatchSeen,
  validationLogStep,
  wantsNextBatch,
  windowClosed,
} from './schedule.js'
import { phaseTiming } from './phaseTiming.js'
import { sourceEndedEarly } from './sourceEndedEarly.js'
import { fitStartEvent, startingState } from './startingState.js'
import { trainStep } from './step.js'
import { timedStep } from './timedStep.js'
import { type ClosedWindow, closeWindow, loopStepContext, settleWindow, type TrainedBatch } from './trainOnBatch.js'
import { readUnread, releaseUnread, type UnreadStep, valuesNotNeeded, withLateValues } from './unreadSteps.js'

/**
 * Everything a run holds between two actions: the loop state (what checkpoints store), the
 * tensors, and the open pass over the training data. The interpreter's one variable.
 */
interface Run<P extends Params, S extends Params, B> {
  readonly loop: LoopState
  readonly train: TrainState<P, S>
  readonly batches: LookaheadIterator<B> | undefined
  /** Steps whose values are still on the device (a backend without host reads), oldest first. */
  readonly unread: readonly UnreadStep[]
}

/**
 * The fit loop as an interpreter of the schedule (`schedule.ts`): it asks `nextAction` what to
 * do, does it (pulls a batch and runs the step, validates, ends an epoch), publishes the events
 * and waits for the hooks, and folds each outcome into the run. It owns the state generations:
 * each step releases what the new one does not reuse, and on completion, error or cancellation
 * it releases the rest. It starts fresh or from a `ResumePoint`, continuing at exactly the next
 * action, and stops at the next step boundary on SIGINT/SIGTERM with a `fitEnd` whose `loop` a
 * checkpoint can resume.
 */
export function* fitProgram<P extends Params, S extends Params, B>(args: FitProgramArgs<P, S, B>, emit: (e: FitEvent) => boolean): Program {
  const { module, data, plan, optimizer, backend, precision, resume, flow, clock } = args
  const source = data.train
  if (source === undefined) throw rxtrainError('ConfigError', 'fit needs a training source', 'give the data module a `train` source.')
  backend.activate()
  // A resumed run continues with its checkpoint's seed: every key derives from it.
  const seed = resume?.loop.seed ?? plan.seed
  const [initKey, shuffleKey, stepKey, valKey] = split(key(seed), 4)
  const castCompute = precision.computeFormat === undefined ? undefined : precision.castCompute
  // The step every batch runs: the exported one, with the run's precision and accumulation.
  const step = trainStep(module, optimizer, { precision, accumulateGradBatches: plan.accumulateGradBatches, logGradNorm: args.options.logGradNorm })
  // A profiler among the hooks: the loop's phases are timed on the run's phase clock (else nothing is).
  const phases = flow.phases
  const runStep = phases === undefined ? step : timedStep(step, phases)
  const { timed, during } = phaseTiming(phases)
  const interrupt = interruptLatch(args.signals)
  let run: Run<P, S, B> | undefined

  /** Publishes an event and waits until every hook has handled it; a stop a hook asked for joins the loop state. */
  const say = function* (make: (time: number) => FitEvent): Program {
    const outcome = yield* publish(flow, emit, make(clock.now()))
    if (outcome.stop !== undefined && run !== undefined) run = { ...run, loop: requestStop(run.loop, outcome.stop) }
  }
  /**
   * Lightning's warning for a source without batches: printed on the run's console (as Lightning
   * prints its warnings whatever the callbacks) and published as a `warning` event, once a run.
   */
  const warned = new Set<WarningKind>()
  const warn = function* ({ kind, message }: WarningText): Program {
    if (warned.has(kind)) return
    warned.add(kind)
    flow.console.err(`rxtrain warning: ${message}`)
    yield* say((time) => ({ type: 'warning', time, kind, message }))
  }
  const current = (): Run<P, S, B> => run as Run<P, S, B>
  const setTrain = (train: TrainState<P, S>): void => {
    run = { ...current(), train }
  }
  const setLoop = (loop: LoopState): void => {
    run = { ...current(), loop }
  }

  const openBatches = (epoch: number, firstBatch: number): LookaheadIterator<B> => {
    const order = { key: foldIn(shuffleKey, epoch), noShuffle: plan.noShuffle, skipBatches: firstBatch, epoch }
    return lookahead(args.strategy.openTrain?.(source, order) ?? source.open(order), args.strategy.prepare)
  }
  const closeBatches = (): void => {
    current().batches?.close()
    run = { ...current(), batches: undefined }
  }

  const validate = function* (stage: 'sanity' | 'val', epoch: number, afterBatch: number): Program {
    const validationStep = module.validationStep
    if (data.val === undefined || validationStep === undefined) return
    const numBatches = stage === 'sanity' ? plan.numSanityBatches : plan.numValBatches
    const { globalStep } = current().loop
    if (stage === 'sanity') yield* say((time) => ({ type: 'sanityCheckStart', time, numBatches }))
    else yield* say((time) => ({ type: 'validationStart', time, epoch, globalStep, numBatches }))
    // An `optim.ema({ evaluate: true })` in the optimizer: validate with the averaged weights.
    const averaged = stage === 'val' ? backend.scoped(() => averagedParams(current().train.optState, current().train.params, true)) : undefined
    let result: EvaluationResult
    try {
      result = yield* evaluationPass({
        stage,
        source: data.val,
        numBatches,
        step: (model, batch, ctx) => validationStep.call(module, model, batch, ctx),
        model: averaged === undefined ? current().train : { ...current().train, params: averaged },
        backend,
        key: foldIn(valKey, epoch),
        epoch,
        globalStep,
        ...(castCompute !== undefined && { castCompute }),
        afterBatch: function* (batchIdx, metrics): Program {
          const sanity = stage === 'sanity'
          const logStep = current().loop.valBatchesSeen ?? 0
          if (!sanity) setLoop(validationBatchSeen(current().loop))
          yield* say((time) => ({ type: 'validationStep', time, epoch, globalStep, batchIdx, numBatches, sanity, metrics: sanity ? {} : metrics, logStep }))
        },
      })
    } finally {
      if (averaged !== undefined) backend.dispose(averaged)
    }
    if (result.batches === 0 && numBatches > 0) yield* warn(emptySource.valRanOut())
    if (stage === 'sanity') return yield* say((time) => ({ type: 'sanityCheckEnd', time, metrics: result.metrics }))
    setLoop(validated(current().loop, afterBatch, result.metrics))
    const { loop, train } = current()
    const logStep = validationLogStep(plan, loop, afterBatch)
    yield* say((time) => ({ type: 'validationEnd', time, epoch, globalStep, batchIdx: afterBatch, logStep, metrics: result.metrics, progBar: result.progBar, state: train, loop }))
  }

  const trainBatch = function* (epoch: number, batchIdx: number, stepping: boolean): Program {
    const open = current().batches
    const batches = open ?? openBatches(epoch, batchIdx)
    if (open === undefined) run = { ...current(), batches }
    const pulled = yield* during('data loading', pullBatch(batches, 'train'))
    if (pulled.done === true) {
      // A source of unknown length that has nothing in an epoch ends the run (the schedule's
      // rule), rather than looping over empty epochs for ever when only maxSteps bounds it.
      const empty = source.numBatches === undefined && batchIdx === 0
      if (Number.isFinite(plan.numTrainBatches) && !empty) throw sourceEndedEarly('train', source.numBatches, batchIdx)
      if (empty) yield* warn(emptySource.trainRanOut(epoch))
      return setLoop(sourceRanOut(current().loop))
    }
    const { loop: before, unread } = current()
    const ctx = loopStepContext(foldIn(foldIn(stepKey, epoch), batchIdx), epoch, batchIdx, before.globalStep, before.lossScale, stepping, castCompute)
    // The step's halves are timed inside it; the rest of this (the read back, the release) is the host reads.
    const leaveStep = phases?.enter('host reads')
    // Without host reads, a step whose values nobody needs now is not waited for (read with a later one).
    const deferRead = !backend.hostReads && valuesNotNeeded(plan, before, batchIdx, stepping)
    // The unread steps are the step's now (it reads them, or hands them back with its own).
    if (unread.length > 0) run = { ...current(), unread: [] }
    const trained = args.strategy.trainBatch({ module, optimizer, backend, precision, plan, step: runStep, state: current().train, batch: pulled.value, ctx, deferRead, unread })
    // While a step waits (DDP workers, a GPU read), the next batch is pulled, if the loop will want it.
    const pullNext = () => wantsNextBatch(plan, before, batchIdx, stepping) && batches.pullAhead()
    const result = isObservable(trained) ? ((yield* overlapped(trained, pullNext)) as TrainedBatch<P, S>) : trained
    leaveStep?.()
    const metrics = stepValues(result.logs)
    const known = result.lateLogs === undefined ? before : withLateValues(before, result.lateLogs)
    const stillUnread = result.unread ?? []
    // A step that is read reads every earlier one with it: what is left unread includes this step.
    const valuesRead = stillUnread.length === 0
    run = { ...current(), train: result.state, unread: stillUnread, loop: batchTrained(known, { batchIdx, stepping, logs: result.logs, stepMetrics: metrics, lossScale: result.lossScale }) }
    const { loop, train } = current()
    yield* say((time) => ({
      type: 'trainStep',
      time,
      epoch,
      batchIdx,
      globalStep: loop.globalStep,
      totalBatches: loop.totalBatches,
      optimizerStepped: stepping,
      stepSkipped: !result.gradsFinite,
      loss: result.loss,
      valuesRead,
      metrics,
      progBar: progressBarNames(result.logs, 'step'),
      shouldLog: shouldLogStep(plan, loop, stepping),
      logStep: stepping ? loop.globalStep - 1 : loop.globalStep,
      batchSize: result.batchSize,
      state: train,
      loop,
    }))
    // Let signals sent to the process in (the loop may otherwise never leave this task).
    const letIn = args.signals.letIn?.()
    if (letIn !== undefined) yield letIn
  }

  const endEpoch = function* (epoch: number): Program {
    setLoop(epochEnded(current().loop))
    const before = current().loop
    const metrics = epochValues(before.epochLogs)
    const callbackMetrics = { ...before.lastStepMetrics, ...metrics, ...plainEpochNames(metrics, before.lastStepMetrics), ...before.lastValidation }
    // Monitored transforms (reduceOnPlateau) step once per epoch on the epoch's metrics, as
    // Lightning steps plateau schedulers; before the event, so a checkpoint there includes it.
    const observe = optimizer.observe
    if (observe !== undefined) {
      const old = current().train
      const observed = { ...old, optState: observe.call(optimizer, old.optState, callbackMetrics) }
      backend.release(old, observed)
      setTrain(observed)
    }
    const { loop, train } = current()
    const progBar = [...loop.epochProgBar]
    yield* say((time) => ({ type: 'epochEnd', time, epoch, globalStep: loop.globalStep, logStep: epochLogStep(loop.globalStep), metrics, callbackMetrics, progBar, state: train, loop }))
  }

  /** Reads the steps left unread, in one transfer, before the loop does anything but train (a non-finite loss among them fails the run here). */
  const readLate = function* (): Program {
    const steps = current().unread
    run = { ...current(), unread: [] }
    const logs = (yield* during('host reads', wait(readUnread(backend, steps)))) as ReadLog[][]
    setLoop(withLateValues(current().loop, logs))
  }

  const act = function* (action: Exclude<Action, { type: 'endFit' }>): Program {
    switch (action.type) {
      case 'startEpoch':
        setLoop(epochStarted(current().loop, action.epoch))
        return yield* say((time) => ({ type: 'epochStart', time, epoch: action.epoch, globalStep: current().loop.globalStep, numBatches: plan.numTrainBatches, firstBatch: 0 }))
      case 'trainBatch':
        return yield* trainBatch(action.epoch, action.batchIdx, action.stepping)
      case 'validate':
        return yield* during('validation', validate('val', action.epoch, action.afterBatch))
      case 'closeWindow': {
        closeBatches()
        const incoming = current().loop.lossScale
        const closed = timed('optimizer update', () => closeWindow(backend, optimizer, precision, current().train, action.step, incoming, module.groups))
        if (closed !== undefined) setTrain(closed.next)
        // Decisions taken on the device (no host reads): the window's step settles on its flags.
        const settled = closed?.finiteFlag === undefined ? closed : ((yield* during('host reads', wait(settleWindow(backend, precision, closed, incoming)))) as ClosedWindow<P, S>)
        if (settled !== closed && settled !== undefined) setTrain(settled.next)
        return setLoop(windowClosed(current().loop, settled?.stepped === true, settled?.lossScale ?? incoming))
      }
      case 'endEpoch':
        return yield* endEpoch(action.epoch)
    }
  }

  try {
    const { train, loop } = startingState(args, initKey, seed)
    run = { loop, train, batches: undefined, unread: [] }
    // A data-parallel strategy starts its workers now, with the initial variables.
    const started = args.strategy.start?.(train)
    if (started !== undefined) yield started
    if (resume !== undefined) restoreStates(flow, resume.hookStates)
    // From here on, the time no phase claims is the loop's own.
    phases?.setBase('loop')
    yield* say((time) => fitStartEvent(args, time, train, loop))
    // Lightning's "Total length of `DataLoader` across ranks is zero": the stage is skipped, with a word.
    if (source.numBatches === 0) yield* warn(emptySource.train())
    if (data.val?.numBatches === 0 && module.validationStep !== undefined) yield* warn(emptySource.val())
    // Lightning skips the sanity check when it restarts from a checkpoint.
    if (resume === undefined && plan.numSanityBatches > 0) yield* during('sanity check', validate('sanity', 0, -1))
    // A checkpoint taken inside an epoch continues that epoch at its next action.
    if (loop.phase === 'afterStep' || loop.phase === 'afterValidation')
      yield* say((time) => ({ type: 'epochStart', time, epoch: loop.epoch, globalStep: loop.globalStep, numBatches: plan.numTrainBatches, firstBatch: loop.batchIdx + 1 }))
    for (;;) {
      const action = nextAction(plan, current().loop, interrupt.signal() !== undefined)
      if (action.type !== 'trainBatch' && current().unread.length > 0) yield* readLate()
      if (action.type === 'endFit') {
        closeBatches()
        const { loop: end, train: state } = current()
        const stopReason = action.reason === 'stopRequested' ? (end.stopReason ?? undefined) : action.reason === 'interrupted' ? interrupt.signal() : undefined
        return yield* say((time) => ({ type: 'fitEnd', time, epoch: end.epochsFinished, globalStep: end.globalStep, reason: action.reason, stopReason, state, loop: end }))
      }
      yield* act(action)
    }
  } finally {
    interrupt.close()
    run?.batches?.close()
    releaseUnread(run?.unread ?? [])
    const closing = args.strategy.close()
    if (closing !== undefined) yield* wait(closing)
    // A hook's work (a checkpoint write) may still read the state: let it finish first.
    yield* wait(settleFlow(flow))
    backend.dispose(run?.train)
  }
}
