import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../support/backend.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { accumulateGradients } from '../../src/optim/accumulate.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { adam, adamw, rmsprop, sgd } from '../../src/optim/aliases.js'
import { applyIfFinite } from '../../src/optim/applyIfFinite.js'
import { clipByGlobalNorm, clipByValue } from '../../src/optim/clip.js'
import { identity } from '../../src/optim/identity.js'
import { reduceOnPlateau } from '../../src/optim/plateau.js'
import { scaleByRms } from '../../src/optim/rms.js'
import { scale, scaleByLearningRate } from '../../src/optim/scale.js'
import {
  constantSchedule,
  cosineDecay,
  exponentialDecay,
  joinSchedules,
  linearSchedule,
  stepDecay,
} from '../../src/optim/schedules.js'
import { trace } from '../../src/optim/trace.js'
import { oneCycle, warmupCosineDecay } from '../../src/optim/warmupSchedules.js'
import { addDecayedWeights } from '../../src/optim/weightDecay.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/** What `build` throws, or undefined. */
const thrownBy = (build: () => unknown): unknown => {
  try {
    build()
  } catch (e) {
    return e
  }
  return undefined
}

// [description, builder, field the message must name]
const invalid: readonly (readonly [string, () => unknown, string])[] = [
  ['negative lr', () => sgd({ lr: -0.1 }), 'lr'],
  ['NaN lr', () => adam({ lr: NaN }), 'lr'],
  ['nesterov without momentum', () => sgd({ lr: 0.1, nesterov: true }), 'momentum'],
  ['momentum of 1', () => sgd({ lr: 0.1, momentum: 1 }), 'momentum'],
  ['negative momentum', () => rmsprop({ momentum: -0.5 }), 'momentum'],
  ['negative weight decay', () => sgd({ lr: 0.1, weightDecay: -1 }), 'weightDecay'],
  ['adamw negative weight decay', () => adamw({ weightDecay: -0.01 }), 'weightDecay'],
  ['b1 = 1', () => scaleByAdam({ b1: 1 }), 'b1'],
  ['b2 < 0', () => adam({ b2: -0.1 }), 'b2'],
  ['negative eps', () => scaleByAdam({ eps: -1e-8 }), 'eps'],
  ['unknown bias correction', () => adam({ biasCorrection: 'float16' as 'float32' }), 'biasCorrection'],
  ['rms decay = 1', () => scaleByRms({ decay: 1 }), 'decay'],
  ['trace decay > 1', () => trace({ decay: 1.5 }), 'decay'],
  ['addDecayedWeights NaN', () => addDecayedWeights({ weightDecay: NaN }), 'weightDecay'],
  ['scale by infinity', () => scale(Infinity), 'factor'],
  ['lr not a number or function', () => scaleByLearningRate('0.1' as unknown as number), 'lr'],
  ['clip norm 0', () => clipByGlobalNorm(0), 'maxNorm'],
  ['clip value negative', () => clipByValue(-1), 'maxAbs'],
  ['accumulate k = 0', () => accumulateGradients(0, identity()), 'k'],
  ['accumulate k = 1.5', () => accumulateGradients(1.5, identity()), 'k'],
  ['maxConsecutiveErrors -1', () => applyIfFinite(identity(), { maxConsecutiveErrors: -1 }), 'maxConsecutiveErrors'],
  ['plateau factor 1', () => reduceOnPlateau({ factor: 1 }), 'factor'],
  ['plateau patience -1', () => reduceOnPlateau({ patience: -1 }), 'patience'],
  ['plateau cooldown 0.5', () => reduceOnPlateau({ cooldown: 0.5 }), 'cooldown'],
  ['plateau mode', () => reduceOnPlateau({ mode: 'up' as 'min' }), 'mode'],
  ['plateau negative threshold', () => reduceOnPlateau({ threshold: -1 }), 'threshold'],
  ['constant NaN', () => constantSchedule(NaN), 'value'],
  ['stepDecay stepSize 0', () => stepDecay({ init: 1, stepSize: 0, gamma: 0.5 }), 'stepSize'],
  [
    'exponentialDecay transitionSteps 0',
    () => exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 0 }),
    'transitionSteps',
  ],
  ['cosineDecay alpha 2', () => cosineDecay({ init: 1, decaySteps: 10, alpha: 2 }), 'alpha'],
  ['linearSchedule steps -1', () => linearSchedule({ from: 0, to: 1, steps: -1 }), 'steps'],
  ['warmup longer than the total', () => warmupCosineDecay({ peak: 1, warmupSteps: 10, decaySteps: 10 }), 'decaySteps'],
  ['oneCycle pctStart 1.5', () => oneCycle({ maxLr: 0.1, totalSteps: 100, pctStart: 1.5 }), 'pctStart'],
  ['oneCycle totalSteps 0', () => oneCycle({ maxLr: 0.1, totalSteps: 0 }), 'totalSteps'],
  ['join: boundary count', () => joinSchedules([constantSchedule(1), constantSchedule(2)], []), 'boundaries'],
  [
    'join: decreasing boundaries',
    () => joinSchedules([constantSchedule(1), constantSchedule(2), constantSchedule(3)], [5, 2]),
    'boundaries',
  ],
]

describe('invalid hyperparameters throw a ConfigError at construction', () => {
  it.each(invalid)('%s', (_, build, field) => {
    const e = thrownBy(build)
    expect(isRxtrainError(e)).toBe(true)
    if (!isRxtrainError(e)) return
    expect(e.tag).toBe('ConfigError')
    expect(e.problem).toContain(field)
    expect(e.remedy.length).toBeGreaterThan(0)
    expect(e.details).toMatchObject({ field })
  })

  it('accepts the boundary values that are valid', () => {
    const valid = [
      () => sgd({ lr: 0 }),
      () => scaleByAdam({ b1: 0, b2: 0, eps: 0 }),
      () => trace({ decay: 0 }),
      () => accumulateGradients(1, identity()),
      () => applyIfFinite(identity(), { maxConsecutiveErrors: 0 }),
      () => reduceOnPlateau({ patience: 0, cooldown: 0, threshold: 0, minScale: 0 }),
      () => linearSchedule({ from: 0, to: 1, steps: 0 }),
      () => warmupCosineDecay({ peak: 1, warmupSteps: 0, decaySteps: 1 }),
      () => oneCycle({ maxLr: 0.1, totalSteps: 1, pctStart: 0 }),
      () => joinSchedules([constantSchedule(1)], []),
    ]
    for (const build of valid) expect(thrownBy(build)).toBeUndefined()
  })
})
