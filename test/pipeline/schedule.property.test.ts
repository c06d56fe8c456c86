import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { initialLoopState, type LoopState } from '../../src/core/loopState.js'
import { parseTrainerOptions, type TrainerOptions } from '../../src/pipeline/options.js'
import { type LoopPlan, planFit } from '../../src/pipeline/plan.js'
import { batchTrained, epochEnded, epochStarted, nextAction, requestStop, sourceRanOut, validated, windowClosed } from '../../src/pipeline/schedule.js'

/**
 * The schedule (`nextAction` and its transitions), run without training anything, against a
 * reference written straight from LIGHTNING-SEMANTICS.md's rules as nested loops.
 */

interface Trace {
  /** `epoch:batch` of every training batch, in order. */
  readonly batches: string[]
  /** `epoch:batch` of the batch each validation followed. */
  readonly validations: string[]
  readonly globalStep: number
  readonly epochs: number
  readonly reason: string
}

/** Runs the schedule over a source of `available` batches (undefined: a finite plan); `stopAt` asks for a stop after that many training batches. */
const runSchedule = (plan: LoopPlan, stopAt?: number, available?: number): Trace => {
  let s: LoopState = initialLoopState(0, { scale: 1, goodSteps: 0 })
  const batches: string[] = []
  const validations: string[] = []
  for (let guard = 0; guard < 100_000; guard++) {
    const a = nextAction(plan, s, false)
    switch (a.type) {
      case 'endFit':
        return { batches, validations, globalStep: s.globalStep, epochs: s.epochsFinished, reason: a.reason }
      case 'startEpoch':
        s = epochStarted(s, a.epoch)
        break
      case 'trainBatch':
        if (available !== undefined && a.batchIdx >= available) {
          s = sourceRanOut(s)
          break
        }
        batches.push(`${a.epoch}:${a.batchIdx}`)
        s = batchTrained(s, { batchIdx: a.batchIdx, stepping: a.stepping, logs: [], lossScale: s.lossScale })
        if (stopAt !== undefined && batches.length === stopAt) s = requestStop(s, 'asked')
        break
      case 'validate':
        validations.push(`${a.epoch}:${a.afterBatch}`)
        s = validated(s, a.afterBatch, {})
        break
      case 'closeWindow':
        // A window with gathered gradients steps only when the source ran out.
        s = windowClosed(s, a.step && s.batchIdx >= 0 && (s.batchIdx + 1) % plan.accumulateGradBatches !== 0, s.lossScale)
        break
      case 'endEpoch':
        s = epochEnded(s)
        break
    }
  }
  throw new Error('the schedule did not end')
}

/** The rules as Lightning's loops run them (finite sources). */
const reference = (plan: LoopPlan, stopAt?: number): Trace => {
  const batches: string[] = []
  const validations: string[] = []
  let globalStep = 0
  let epochs = 0
  let total = 0
  let stop = false
  const canStop = () => stop && epochs >= plan.minEpochs && globalStep >= plan.minSteps
  const valEpoch = (e: number) => plan.numValBatches > 0 && (plan.checkValEveryNEpoch === null || (e + 1) % plan.checkValEveryNEpoch === 0)
  for (;;) {
    if (plan.numTrainBatches === 0) return { batches, validations, globalStep, epochs, reason: 'noTrainBatches' }
    if (globalStep >= plan.maxSteps) return { batches, validations, globalStep, epochs, reason: 'maxSteps' }
    if (epochs >= plan.maxEpochs) return { batches, validations, globalStep, epochs, reason: 'maxEpochs' }
    if (canStop()) return { batches, validations, globalStep, epochs, reason: 'stopRequested' }
    const e = epochs
    for (let b = 0; b < plan.numTrainBatches; b++) {
      if (canStop()) break
      const last = b === plan.numTrainBatches - 1
      batches.push(`${e}:${b}`)
      total++
      if ((b + 1) % plan.accumulateGradBatches === 0 || last) globalStep++
      if (stopAt !== undefined && batches.length === stopAt) stop = true
      const position = plan.checkValEveryNEpoch === null ? total - 1 : b
      const atPoint = valEpoch(e) && (Number.isFinite(plan.valCheckBatch) ? (position + 1) % plan.valCheckBatch === 0 : last)
      if (atPoint || (canStop() && valEpoch(e))) validations.push(`${e}:${b}`)
      if (globalStep >= plan.maxSteps || canStop()) break
    }
    epochs++
  }
}

const planOf = (o: TrainerOptions, T: number, V: number): LoopPlan | undefined => {
  const parsed = parseTrainerOptions(o)
  if (E.isLeft(parsed)) return undefined
  const plan = planFit(parsed.right, { trainBatches: T, valBatches: V, hasValidation: true })
  return E.isRight(plan) ? plan.right : undefined
}

const options = fc.record(
  {
    maxEpochs: fc.integer({ min: 1, max: 4 }),
    maxSteps: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 30 })),
    minEpochs: fc.integer({ min: 0, max: 3 }),
    minSteps: fc.integer({ min: 0, max: 12 }),
    valCheckInterval: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.constantFrom({ fraction: 1 }, { fraction: 0.5 }, { fraction: 0.25 }, { fraction: 0 })),
    checkValEveryNEpoch: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(null)),
    accumulateGradBatches: fc.integer({ min: 1, max: 4 }),
    limitValBatches: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
    numSanityValSteps: fc.constant(0),
  },
  { requiredKeys: ['maxEpochs', 'accumulateGradBatches', 'numSanityValSteps'] },
)

describe('the schedule against the rules (fast-check)', () => {
  it('runs the batches, optimizer steps, validations and epochs that the rules give', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), fc.option(fc.integer({ min: 1, max: 40 })), (o, T, V, stopAt) => {
        const plan = planOf(o as TrainerOptions, T, V)
        fc.pre(plan !== undefined)
        const p = plan as LoopPlan
        expect(runSchedule(p, stopAt ?? undefined)).toEqual(reference(p, stopAt ?? undefined))
      }),
      { numRuns: 400 },
    )
  })

  it('globalStep counts optimizer steps: every k-th batch and the last of each epoch, never past maxSteps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (T, k, epochs) => {
        const p = planOf({ maxEpochs: epochs, accumulateGradBatches: k, numSanityValSteps: 0 }, T, 1) as LoopPlan
        expect(runSchedule(p).globalStep).toBe(epochs * Math.ceil(T / k))
      }),
    )
  })

  it('a source of unknown length that runs out ends the epoch there, and a later epoch runs it again', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), (available, epochs) => {
        const parsed = parseTrainerOptions({ maxEpochs: epochs, numSanityValSteps: 0 })
        if (E.isLeft(parsed)) throw parsed.left
        const p = planFit(parsed.right, { trainBatches: undefined, valBatches: 1, hasValidation: true })
        if (E.isLeft(p)) throw p.left
        const trace = runSchedule(p.right, undefined, available)
        expect(trace.batches).toHaveLength(available * epochs)
        // validation once per epoch, after its last batch
        expect(trace.validations).toEqual(Array.from({ length: epochs }, (_, e) => `${e}:${available - 1}`))
        expect(trace.reason).toBe('maxEpochs')
      }),
    )
  })

  it('is a pure function: the same state and plan give the same action', () => {
    const p = planOf({ maxEpochs: 2 }, 5, 2) as LoopPlan
    const s = initialLoopState(0, { scale: 1, goodSteps: 0 })
    expect(nextAction(p, s, false)).toEqual(nextAction(p, s, false))
    expect(nextAction(p, s, true)).toEqual({ type: 'endFit', reason: 'interrupted' })
  })
})
