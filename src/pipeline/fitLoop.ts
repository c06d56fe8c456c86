import type { Backend } from '../backends/backend.js'
import type { Precision } from '../backends/precision.js'
import type { DataModule } from '../data/dataModule.js'
import type { Clock } from '../effects/clock.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { GradientTransform } from '../optim/transform.js'
import { foldIn, key, split } from '../random/key.js'
import type { Params, StateTree } from '../tree/tree.js'
import { batchSizeOf, pullBatch, stepError } from './batches.js'
import { type Publisher, publish, publisher, settleHolds } from './control.js'
import type { Program } from './drive.js'
import { evaluationPass } from './evaluation.js'
import type { FitEndReason, FitEvent, Metrics, TrainState } from './events.js'
import { addToEpoch, type EpochLogs, epochValues, progressBarNames, type ReadLog, stepValues } from './logs.js'
import type { Module } from './module.js'
import { canStopEarly, isOptimizerStepBatch, isValidationEpoch, isValidationPoint, type LoopPlan } from './plan.js'
import { readBack } from './readBack.js'
import { sourceEndedEarly } from './sourceEndedEarly.js'
import { addGradients, applyGradients, computeGradients } from './step.js'

export interface FitProgramArgs<P extends Params, S extends Params, B> {
  readonly module: Module<P, S, B, unknown>
  readonly data: DataModule<B, unknown>
  readonly plan: LoopPlan
  /** The module's optimizer, resolved against the plan, with the trainer's gradient clipping. */
  readonly optimizer: GradientTransform<StateTree>
  readonly backend: Backend
  readonly precision: Precision
  readonly clock: Clock
}

const nonFiniteLoss = (epoch: number, batchIdx: number, globalStep: number, loss: number, logs: readonly ReadLog[]) => {
  const others = logs.filter((l) => !Number.isFinite(l.value)).map((l) => `${l.pending.name} = ${l.value}`)
  return rxtrainError(
    'NonFiniteError',
    `the training loss is ${loss} at epoch ${epoch}, batch ${batchIdx} (global step ${globalStep})${others.length > 0 ? `; also non-finite: ${others.join(', ')}` : ''}`,
    'lower the learning rate, clip gradients (gradientClipVal), check the data for NaN or Inf, or put applyIfFinite(...) in the optimizer chain to skip such steps.',
    { epoch, batchIdx, globalStep, loss },
  )
}

/**
 * The fit loop (Lightning's `FitLoop` + `TrainingEpochLoop`) as a program for `drive`. It owns
 * the state generations: after each step it releases the tensors of the previous generation
 * that the new one does not reuse, and on completion, error or cancellation it releases the rest.
 */
export function* fitProgram<P extends Params, S extends Params, B>(args: FitProgramArgs<P, S, B>, emit: (e: FitEvent) => void): Program {
  const { module, data, plan, optimizer, backend, precision } = args
  const train = data.train
  if (train === undefined) throw rxtrainError('ConfigError', 'fit needs a training source', 'give the data module a `train` source.')
  backend.activate()
  const [initKey, shuffleKey, stepKey, valKey] = split(key(plan.seed), 4) as [ReturnType<typeof key>, ReturnType<typeof key>, ReturnType<typeof key>, ReturnType<typeof key>]
  const out: Publisher<FitEvent> = publisher(emit, args.clock)
  const stop = out.stop
  let state: TrainState<P, S> | undefined
  let accumulated: Params | undefined
  try {
    state = backend.scoped(() => {
      const model = module.init(initKey)
      return { params: model.params, state: model.state, optState: optimizer.init(model.params) }
    })
    let lossScale = precision.initScale()
    let globalStep = 0
    let epochsFinished = 0
    let totalBatches = 0
    let lastValidation: Metrics = {}
    const current = (): TrainState<P, S> => state as TrainState<P, S>
    const stopPending = (): boolean => stop.reason() !== undefined && canStopEarly(plan, epochsFinished, globalStep)

    const validation = function* (epoch: number, stage: 'sanity' | 'val'): Program<Metrics> {
      const validationStep = module.validationStep
      if (data.val === undefined || validationStep === undefined) return {}
      const numBatches = stage === 'sanity' ? plan.numSanityBatches : plan.numValBatches
      if (stage === 'sanity') yield* publish(out, (b) => ({ type: 'sanityCheckStart' as const, ...b, numBatches }))
      else yield* publish(out, (b) => ({ type: 'validationStart' as const, ...b, epoch, globalStep, numBatches }))
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
        afterBatch: (batchIdx) =>
          publish(out, (b) => ({ type: 'validationStep' as const, ...b, epoch, globalStep, batchIdx, numBatches, sanity: stage === 'sanity' })),
      })
      if (stage === 'sanity') {
        yield* publish(out, (b) => ({ type: 'sanityCheckEnd' as const, ...b, metrics: result.metrics }))
        return result.metrics
      }
      yield* publish(out, (b) => ({ type: 'validationEnd' as const, ...b, epoch, globalStep, metrics: result.metrics, progBar: result.progBar, state: current() }))
      return result.metrics
    }

    yield* publish(out, (b) => ({ type: 'fitStart' as const, ...b, plan, backend: backend.description, state: current() }))
    if (plan.numSanityBatches > 0) yield* validation(0, 'sanity')

    let reason: FitEndReason
    for (;;) {
      if (plan.numTrainBatches === 0) reason = 'noTrainBatches'
      else if (globalStep >= plan.maxSteps) reason = 'maxSteps'
      else if (epochsFinished >= plan.maxEpochs) reason = 'maxEpochs'
      else if (stopPending()) reason = 'stopRequested'
      else {
        const epoch = epochsFinished
        yield* publish(out, (b) => ({ type: 'epochStart' as const, ...b, epoch, globalStep, numBatches: plan.numTrainBatches }))
        const iterator = train.open({ key: foldIn(shuffleKey, epoch), noShuffle: plan.noShuffle })
        let epochLogs: EpochLogs = new Map()
        const epochBar = new Set<string>()
        let exhausted = false
        try {
          for (let batchIdx = 0; batchIdx < plan.numTrainBatches; batchIdx++) {
            // Lightning checks a pending stop before every batch (e.g. one requested at epochStart).
            if (stopPending()) break
            const pulled = yield* pullBatch(iterator, 'train')
            if (pulled.done === true) {
              if (Number.isFinite(plan.numTrainBatches)) throw sourceEndedEarly('train', train.numBatches, batchIdx)
              exhausted = true
              break
            }
            const batch = pulled.value
            const isLast = batchIdx === plan.numTrainBatches - 1
            const stepping = isOptimizerStepBatch(plan, batchIdx, isLast)
            let loss: number
            let read: ReadLog[]
            try {
              const before = current()
              const ctx = { stage: 'train' as const, training: true, key: foldIn(foldIn(stepKey, epoch), batchIdx), epoch, batchIdx, globalStep }
              const step = backend.scoped(() => {
                const g = computeGradients(module, before, batch, ctx, { lossDivisor: plan.accumulateGradBatches, precision, lossScale })
                const grads = accumulated === undefined ? g.grads : addGradients(accumulated, g.grads)
                const withState = { ...before, state: g.state }
                return stepping
                  ? { next: applyGradients(optimizer, withState, grads), grads: undefined, loss: g.loss, logs: g.logs }
                  : { next: withState, grads, loss: g.loss, logs: g.logs }
              })
              try {
                // Read before releasing: a logged value may be a tensor of the previous generation.
                const values = readBack(backend, step.logs, { onStep: true, onEpoch: false }, batchSizeOf(batch), [step.loss], [before, step.next, step.grads, batch])
                loss = values.extra[0] as number
                read = values.logs
              } finally {
                backend.release([before, accumulated], [step.next, step.grads])
                state = step.next
                accumulated = step.grads
              }
            } catch (e) {
              throw stepError('train', epoch, batchIdx, batch, e)
            } finally {
              backend.dispose(batch)
            }
            if (!Number.isFinite(loss) && optimizer.guardsNonFinite !== true) throw nonFiniteLoss(epoch, batchIdx, globalStep, loss, read)
            if (precision.tracksFiniteness) lossScale = precision.nextScale(lossScale, Number.isFinite(loss))
            if (stepping) globalStep++
            totalBatches++
            epochLogs = addToEpoch(epochLogs, read)
            for (const name of progressBarNames(read, 'epoch')) epochBar.add(name)
            const shouldLog = stepping && (globalStep % plan.logEveryNSteps === 0 || stopPending())
            const metrics = stepValues(read)
            yield* publish(out, (b) => ({
              type: 'trainStep' as const,
              ...b,
              epoch,
              batchIdx,
              globalStep,
              totalBatches,
              optimizerStepped: stepping,
              loss,
              metrics,
              progBar: progressBarNames(read, 'step'),
              shouldLog,
              batchSize: batchSizeOf(batch),
              state: current(),
            }))
            // A stop honoured mid-epoch validates at this point (Lightning's `_should_check_val_fx`).
            if (isValidationPoint(plan, epoch, batchIdx, totalBatches - 1, isLast) || (stopPending() && isValidationEpoch(plan, epoch)))
              lastValidation = yield* validation(epoch, 'val')
            if (globalStep >= plan.maxSteps || stopPending()) break
          }
        } finally {
          iterator.close()
        }
        if (exhausted && accumulated !== undefined) {
          // A source of unknown length ran out inside an accumulation window: step on what was gathered.
          const before = current()
          const grads = accumulated
          const next = backend.scoped(() => applyGradients(optimizer, before, grads))
          backend.release([before, grads], next)
          state = next
          accumulated = undefined
          globalStep++
        }
        backend.dispose(accumulated)
        accumulated = undefined
        if (exhausted && !Number.isFinite(plan.valCheckBatch) && isValidationEpoch(plan, epoch)) lastValidation = yield* validation(epoch, 'val')
        epochsFinished++
        const metrics = { ...epochValues(epochLogs), ...lastValidation }
        // Monitored transforms (reduceOnPlateau) step once per epoch on the epoch's metrics, as
        // Lightning steps plateau schedulers; before the event, so a checkpoint there includes it.
        const observe = optimizer.observe
        if (observe !== undefined) {
          const before = current()
          const next = { ...before, optState: observe.call(optimizer, before.optState, metrics) }
          backend.release(before, next)
          state = next
        }
        yield* publish(out, (b) => ({ type: 'epochEnd' as const, ...b, epoch, globalStep, metrics, progBar: [...epochBar], state: current() }))
        continue
      }
      break
    }
    const stopReason = reason === 'stopRequested' ? stop.reason() : undefined
    yield* publish(out, (b) => ({ type: 'fitEnd' as const, ...b, epoch: epochsFinished, globalStep, reason, stopReason, state: current() }))
  } finally {
    // Held work (a checkpoint write) may still read the state: let it finish first.
    yield* settleHolds(out)
    backend.dispose([state, accumulated])
  }
}
