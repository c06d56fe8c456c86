import type { InterruptSignal } from '../effects/signals.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { foldIn, type Key, key, split } from '../random/key.js'
import type { Params } from '../tree/tree.js'
import { pullBatch } from './batches.js'
import { stopSignal } from './stopSignal.js'
import { publish } from '../flow/publish.js'
import { restoreStates, settleFlow } from '../flow/flow.js'
import { type Program, wait } from '../flow/drive.js'
import { evaluationPass } from './evaluation.js'
import type { FitEndReason, FitEvent, Metrics, TrainState } from './events.js'
import { addToEpoch, type EpochLogs, epochLogStep, epochValues, plainEpochNames, progressBarNames, stepValues } from './logs.js'
import { initialLoopState, type LoopState } from './loopState.js'
import { lookahead, overlapped } from './lookahead.js'
import { canStopEarly, isOptimizerStepBatch, isValidationEpoch, isValidationPoint } from './plan.js'
import { sourceEndedEarly } from './sourceEndedEarly.js'
import { closeWindow, type TrainedBatch } from './trainOnBatch.js'
import type { FitProgramArgs } from './fitProgramArgs.js'
import { isObservable } from 'rxjs'

type EpochOutcome = 'done' | 'interrupted'
type AfterBatch = 'continue' | 'endEpoch' | 'interrupted'

/**
 * The fit loop (Lightning's `FitLoop` + `TrainingEpochLoop`) as a program for `drive`. It owns
 * the state generations: after each step it releases the tensors of the previous generation
 * that the new one does not reuse, and on completion, error or cancellation it releases the rest.
 * It starts fresh or from a `ResumePoint`, continuing at exactly the next action, and stops at
 * the next step boundary on SIGINT/SIGTERM with a `fitEnd` whose `loop` a checkpoint can resume.
 */
export function* fitProgram<P extends Params, S extends Params, B>(args: FitProgramArgs<P, S, B>, emit: (e: FitEvent) => boolean): Program {
  const { module, data, plan, optimizer, backend, precision, resume } = args
  const train = data.train
  if (train === undefined) throw rxtrainError('ConfigError', 'fit needs a training source', 'give the data module a `train` source.')
  backend.activate()
  // A resumed run continues with its checkpoint's seed: every key derives from it.
  const seed = resume?.loop.seed ?? plan.seed
  const [initKey, shuffleKey, stepKey, valKey] = split(key(seed), 4) as [Key, Key, Key, Key]
  const { flow, clock } = args
  const stop = stopSignal()
  /** Publishes an event and waits until every hook has handled it; a stop a hook asked for is recorded. */
  const say = function* (make: (time: number) => FitEvent): Program {
    const outcome = yield* publish(flow, emit, make(clock.now()))
    if (outcome.stop !== undefined) stop.request(outcome.stop)
  }
  let interrupted: InterruptSignal | undefined
  const unlisten = args.signals.onInterrupt((signal) => {
    interrupted ??= signal
  })
  let state: TrainState<P, S> | undefined = resume?.state
  try {
    state ??= backend.scoped(() => {
      // A '-true' half policy keeps the variables rounded from the start.
      const model = precision.storeState(module.init(initKey))
      return { params: model.params, state: model.state, optState: precision.storeState(optimizer.init(model.params)), gradAccumulator: null }
    })
    // Resumed under another precision policy: it starts afresh (its loss scale, its rounding).
    const samePrecision = resume?.precision === undefined || resume.precision === precision.name
    const given = state
    if (!samePrecision) state = backend.scoped(() => precision.storeState(given))
    if (state !== given) backend.release(given, state)
    // A data-parallel strategy starts its workers now, with the initial variables.
    const started = args.strategy.start?.(state)
    if (started !== undefined) yield started
    const start = resume === undefined ? initialLoopState(seed, precision.initScale()) : samePrecision ? resume.loop : { ...resume.loop, lossScale: precision.initScale() }
    let { globalStep, totalBatches, epochsFinished, lossScale } = start
    let lastValidation: Metrics = { ...start.lastValidation }
    let lastStepMetrics: Metrics = { ...start.lastStepMetrics }
    let epochLogs: EpochLogs = new Map(start.epochLogs)
    let epochBar = new Set(start.epochProgBar)
    let sourceExhausted = start.sourceExhausted
    let last: LoopState = start
    // A stop requested before the checkpoint is still pending after it.
    if (start.stopReason !== null) stop.request(start.stopReason)
    const current = (): TrainState<P, S> => state as TrainState<P, S>
    const stopPending = (): boolean => stop.reason() !== undefined && canStopEarly(plan, epochsFinished, globalStep)
    const snapshot = (phase: LoopState['phase'], epoch: number, batchIdx: number): LoopState =>
      (last = {
        phase,
        epoch,
        batchIdx,
        globalStep,
        totalBatches,
        epochsFinished,
        epochLogs: [...epochLogs],
        epochProgBar: [...epochBar],
        lastValidation,
        lossScale,
        seed,
        lastStepMetrics,
        stopReason: stop.reason() ?? null,
        sourceExhausted,
      })
    const computeCast = precision.computeFormat === undefined ? {} : { castCompute: precision.castCompute }
    const validation = function* (epoch: number, stage: 'sanity' | 'val', afterBatch: number): Program<Metrics> {
      const validationStep = module.validationStep
      if (data.val === undefined || validationStep === undefined) return {}
      const numBatches = stage === 'sanity' ? plan.numSanityBatches : plan.numValBatches
      if (stage === 'sanity') yield* say((time) => ({ type: 'sanityCheckStart' as const, time, numBatches }))
      else yield* say((time) => ({ type: 'validationStart' as const, time, epoch, globalStep, numBatches }))
      const result = yield* evaluationPass({
        stage,
        source: data.val,
        numBatches,
        step: (model, batch, ctx) => validationStep.call(module, model, batch, ctx),
        model: current(),
        backend,
        key: foldIn(valKey, epoch),
        epoch,
        globalStep,
        ...computeCast,
        afterBatch: (batchIdx) =>
          say((time) => ({ type: 'validationStep' as const, time, epoch, globalStep, batchIdx, numBatches, sanity: stage === 'sanity' })),
      })
      if (stage === 'sanity') {
        yield* say((time) => ({ type: 'sanityCheckEnd' as const, time, metrics: result.metrics }))
        return result.metrics
      }
      lastValidation = result.metrics
      const loop = snapshot('afterValidation', epoch, afterBatch)
      // Lightning logs validation under the step count before that batch's optimizer step.
      const logStep = afterBatch >= 0 && isOptimizerStepBatch(plan, afterBatch, afterBatch === plan.numTrainBatches - 1) ? globalStep - 1 : globalStep
      yield* say((time) => ({
        type: 'validationEnd' as const,
        time,
        epoch,
        globalStep,
        batchIdx: afterBatch,
        logStep,
        metrics: result.metrics,
        progBar: result.progBar,
        state: current(),
        loop,
      }))
      return result.metrics
    }

    /**
     * Whether the epoch ends after the batch just run (Lightning's `TrainingEpochLoop.done`), with
     * `steps` optimizer steps taken (by default those taken so far).
     */
    const endChecks = (steps = globalStep): AfterBatch => (steps >= plan.maxSteps || stopPending() ? 'endEpoch' : 'continue')

    /** What follows a training batch: a validation at validation points (or at a stop), then the end checks. */
    const afterBatch = function* (epoch: number, batchIdx: number): Program<AfterBatch> {
      const isLast = batchIdx === plan.numTrainBatches - 1
      // A stop honoured mid-epoch validates at this point (Lightning's `_should_check_val_fx`).
      if (isValidationPoint(plan, epoch, batchIdx, totalBatches - 1, isLast) || (stopPending() && isValidationEpoch(plan, epoch))) {
        yield* validation(epoch, 'val', batchIdx)
        if (interrupted !== undefined) return 'interrupted'
      }
      return endChecks()
    }

    /** One epoch, from its start or from where a checkpoint inside it left off. */
    const runEpoch = function* (epoch: number, resumeAt?: Pick<LoopState, 'phase' | 'batchIdx' | 'sourceExhausted'>): Program<EpochOutcome> {
      const firstBatch = resumeAt === undefined ? 0 : resumeAt.batchIdx + 1
      if (resumeAt === undefined) {
        epochLogs = new Map()
        epochBar = new Set()
        sourceExhausted = false
      }
      yield* say((time) => ({ type: 'epochStart' as const, time, epoch, globalStep, numBatches: plan.numTrainBatches, firstBatch }))
      let next: AfterBatch = 'continue'
      let exhausted = sourceExhausted
      // A source of unknown length that ran out was validated at once: resuming after that validation leaves only the epoch's end.
      let validatedAtEnd = exhausted && resumeAt?.phase === 'afterValidation'
      if (resumeAt !== undefined && !exhausted) {
        // Resume the actions that followed the checkpointed batch: its validation (if not done yet), then the end checks.
        next = resumeAt.phase === 'afterStep' ? yield* afterBatch(epoch, resumeAt.batchIdx) : endChecks()
        if (next === 'interrupted') return 'interrupted'
      }
      let lastBatch = firstBatch - 1
      if (next === 'continue' && !exhausted) {
        const order = { key: foldIn(shuffleKey, epoch), noShuffle: plan.noShuffle, skipBatches: firstBatch, epoch }
        const iterator = lookahead(args.strategy.openTrain?.(train, order) ?? train.open(order), args.strategy.prepare)
        try {
          for (let batchIdx = firstBatch; batchIdx < plan.numTrainBatches; batchIdx++) {
            // Lightning checks a pending stop before every batch (e.g. one requested at epochStart).
            if (stopPending()) break
            const pulled = yield* pullBatch(iterator, 'train')
            if (pulled.done === true) {
              if (Number.isFinite(plan.numTrainBatches)) throw sourceEndedEarly('train', train.numBatches, batchIdx)
              exhausted = true
              sourceExhausted = true
              break
            }
            const isLast = batchIdx === plan.numTrainBatches - 1
            const stepping = isOptimizerStepBatch(plan, batchIdx, isLast)
            const ctx = { stage: 'train' as const, training: true, key: foldIn(foldIn(stepKey, epoch), batchIdx), epoch, batchIdx, globalStep, ...computeCast }
            const trained = args.strategy.trainBatch({ module, optimizer, backend, precision, plan, lossScale, state: current(), batch: pulled.value, ctx, stepping })
            // While a step waits (DDP workers, a GPU read), the next batch is pulled, if there is one.
            const pullNext = () => batchIdx + 1 < plan.numTrainBatches && endChecks(globalStep + (stepping ? 1 : 0)) === 'continue' && iterator.pullAhead()
            const result = isObservable(trained) ? ((yield* overlapped(trained, pullNext)) as TrainedBatch<P, S>) : trained
            state = result.state
            if (precision.skipsNonFinite && stepping) lossScale = precision.nextScale(lossScale, result.gradsFinite)
            if (stepping) globalStep++
            totalBatches++
            lastBatch = batchIdx
            epochLogs = addToEpoch(epochLogs, result.logs)
            for (const name of progressBarNames(result.logs, 'epoch')) epochBar.add(name)
            const metricsOfStep = stepValues(result.logs)
            lastStepMetrics = { ...lastStepMetrics, ...metricsOfStep }
            const shouldLog = stepping && (globalStep % plan.logEveryNSteps === 0 || stopPending())
            const loop = snapshot('afterStep', epoch, batchIdx)
            yield* say((time) => ({
              type: 'trainStep' as const,
              time,
              epoch,
              batchIdx,
              globalStep,
              totalBatches,
              optimizerStepped: stepping,
              stepSkipped: !result.gradsFinite,
              loss: result.loss,
              metrics: metricsOfStep,
              progBar: progressBarNames(result.logs, 'step'),
              shouldLog,
              logStep: stepping ? globalStep - 1 : globalStep,
              batchSize: result.batchSize,
              state: current(),
              loop,
            }))
            // Let signals sent to the process in (the loop may otherwise never leave this task).
            const letIn = args.signals.letIn?.()
            if (letIn !== undefined) yield letIn
            if (interrupted !== undefined) return 'interrupted'
            next = yield* afterBatch(epoch, batchIdx)
            if (next === 'interrupted') return 'interrupted'
            if (next === 'endEpoch') break
          }
        } finally {
          iterator.close()
        }
      }
      const closed = closeWindow(backend, optimizer, precision, current(), exhausted && !validatedAtEnd)
      if (closed !== undefined) state = closed.next
      if (closed?.stepped === true) {
        if (precision.skipsNonFinite) lossScale = precision.nextScale(lossScale, closed.gradsFinite)
        globalStep++
      }
      if (exhausted && !validatedAtEnd && !Number.isFinite(plan.valCheckBatch) && isValidationEpoch(plan, epoch)) {
        validatedAtEnd = true
        yield* validation(epoch, 'val', lastBatch)
        if (interrupted !== undefined) return 'interrupted'
      }
      epochsFinished++
      const metrics = epochValues(epochLogs)
      const callbackMetrics = { ...lastStepMetrics, ...metrics, ...plainEpochNames(metrics, lastStepMetrics), ...lastValidation }
      // Monitored transforms (reduceOnPlateau) step once per epoch on the epoch's metrics, as
      // Lightning steps plateau schedulers; before the event, so a checkpoint there includes it.
      const observe = optimizer.observe
      if (observe !== undefined) {
        const before = current()
        const observed = { ...before, optState: observe.call(optimizer, before.optState, callbackMetrics) }
        backend.release(before, observed)
        state = observed
      }
      const loop = snapshot('epochEnd', epoch, lastBatch)
      yield* say((time) => ({ type: 'epochEnd' as const, time, epoch, globalStep, logStep: epochLogStep(globalStep), metrics, callbackMetrics, progBar: [...epochBar], state: current(), loop }))
      return interrupted !== undefined ? 'interrupted' : 'done'
    }

    if (resume !== undefined) restoreStates(flow, resume.hookStates)
    yield* say((time) => ({
      type: 'fitStart' as const,
      time,
      plan,
      options: args.options,
      backend: backend.description,
      accelerator: backend.choice ?? { requested: 'env', backend: backend.name, description: backend.description, skipped: [] },
      optimizer,
      state: current(),
      loop: start,
      resumed: resume === undefined ? undefined : { from: resume.from, loop: resume.loop, hookStates: resume.hookStates },
    }))
    // Lightning skips the sanity check when it restarts from a checkpoint.
    if (resume === undefined && plan.numSanityBatches > 0) yield* validation(0, 'sanity', -1)

    // A checkpoint taken inside an epoch continues that epoch at its next action.
    const midEpoch = start.phase === 'afterStep' || start.phase === 'afterValidation'
    let reason: FitEndReason | undefined
    if (midEpoch) {
      const outcome = yield* runEpoch(start.epoch, start)
      if (outcome === 'interrupted') reason = 'interrupted'
    }
    while (reason === undefined) {
      if (interrupted !== undefined) reason = 'interrupted'
      else if (plan.numTrainBatches === 0) reason = 'noTrainBatches'
      else if (globalStep >= plan.maxSteps) reason = 'maxSteps'
      else if (epochsFinished >= plan.maxEpochs) reason = 'maxEpochs'
      else if (stopPending()) reason = 'stopRequested'
      else if ((yield* runEpoch(epochsFinished)) === 'interrupted') reason = 'interrupted'
    }
    const stopReason = reason === 'stopRequested' ? stop.reason() : reason === 'interrupted' ? interrupted : undefined
    // An interrupted run may have a stop pending (early stopping fired on its last event).
    const loop: LoopState = { ...last, stopReason: stop.reason() ?? null }
    yield* say((time) => ({ type: 'fitEnd' as const, time, epoch: epochsFinished, globalStep, reason, stopReason, state: current(), loop }))
  } finally {
    unlisten()
    const closing = args.strategy.close()
    if (closing !== undefined) yield* wait(closing)
    // Held work (a checkpoint write) may still read the state: let it finish first.
    yield* wait(settleFlow(flow))
    backend.dispose(state)
  }
}
