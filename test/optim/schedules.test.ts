import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { adam, sgd } from '../../src/optim/aliases.js'
import {
  constantSchedule,
  cosineDecay,
  exponentialDecay,
  joinSchedules,
  linearSchedule,
  stepDecay,
} from '../../src/optim/schedules.js'
import { oneCycle, warmupCosineDecay } from '../../src/optim/warmupSchedules.js'
import { releaseGeneration } from '../../src/tree/tree.js'
import { step, tinyTree } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

describe('schedules at hand-computed points', () => {
  it('constantSchedule', () => {
    expect([0, 1, 1000].map(constantSchedule(0.3))).toEqual([0.3, 0.3, 0.3])
  })

  it('stepDecay: init * gamma^floor(step / stepSize)', () => {
    const s = stepDecay({ init: 0.1, stepSize: 30, gamma: 0.1 })
    expect(s(0)).toBe(0.1)
    expect(s(29)).toBe(0.1)
    expect(s(30)).toBeCloseTo(0.01, 15)
    expect(s(65)).toBeCloseTo(0.001, 15)
  })

  it('exponentialDecay: continuous and staircase', () => {
    const smooth = exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10 })
    expect(smooth(10)).toBeCloseTo(0.5, 15)
    expect(smooth(5)).toBeCloseTo(Math.SQRT1_2, 15) // 0.5^0.5
    const stairs = exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10, staircase: true })
    expect([5, 9, 10, 19, 20].map(stairs)).toEqual([1, 1, 0.5, 0.5, 0.25])
  })

  it('cosineDecay: half-way is the mean of init and alpha * init', () => {
    const s = cosineDecay({ init: 1, decaySteps: 100, alpha: 0.1 })
    expect(s(0)).toBeCloseTo(1, 15)
    expect(s(50)).toBeCloseTo(0.55, 15) // 0.9 * ½(1 + cos(π/2)) + 0.1
    expect(s(25)).toBeCloseTo(0.868198, 6) // 0.9 * ½(1 + cos(π/4)) + 0.1
    expect(s(100)).toBeCloseTo(0.1, 15)
    expect(s(200)).toBeCloseTo(0.1, 15)
  })

  it('linearSchedule: a ramp, then constant', () => {
    const s = linearSchedule({ from: 0, to: 1e-3, steps: 100 })
    expect([0, 25, 100, 150].map(s)).toEqual([0, 2.5e-4, 1e-3, 1e-3])
    expect(linearSchedule({ from: 5, to: 1, steps: 0 })(0)).toBe(1)
  })

  it('warmupCosineDecay: peak at the end of warm-up, mean of peak and end half-way through the decay', () => {
    // warm-up 0 -> 1 over 10 steps; cosine 1 -> 0.1 over the remaining 100 steps (decaySteps is the total)
    const s = warmupCosineDecay({ peak: 1, warmupSteps: 10, decaySteps: 110, end: 0.1 })
    expect(s(0)).toBe(0)
    expect(s(5)).toBeCloseTo(0.5, 15)
    expect(s(10)).toBeCloseTo(1, 15)
    expect(s(35)).toBeCloseTo(0.868198, 6) // 0.1 + 0.9 * ½(1 + cos(π/4))
    expect(s(60)).toBeCloseTo(0.55, 15) // 0.1 + 0.9 * ½
    expect(s(110)).toBeCloseTo(0.1, 15)
    expect(s(500)).toBeCloseTo(0.1, 15)
  })

  it('oneCycle: PyTorch OneCycleLR values (peak at step pctStart * total - 1)', () => {
    // maxLr 0.1, 100 steps, pctStart 0.3: start 0.1/25 = 0.004, end 0.004/1e4 = 4e-7, peak step 29
    const s = oneCycle({ maxLr: 0.1, totalSteps: 100 })
    expect(s(0)).toBeCloseTo(0.004, 15)
    expect(s(29)).toBeCloseTo(0.1, 15)
    expect(s(28)).toBeLessThan(0.1)
    expect(s(30)).toBeLessThan(0.1)
    // rising: 0.1 + (0.004 - 0.1)/2 (cos(π 10/29) + 1)
    expect(s(10)).toBeCloseTo(0.0295164, 7)
    // falling half-way, step 29 + 35 of 70: (0.1 + 4e-7) / 2
    expect(s(64)).toBeCloseTo(0.0500002, 10)
    expect(s(99)).toBeCloseTo(4e-7, 15)
    expect(s(150)).toBeCloseTo(4e-7, 15) // stays at the end value
    // pctStart 0.5 of 101 steps: the peak at step 49.5; step 20: 1 + (0.1 - 1)/2 (cos(π 20/49.5) + 1)
    const t = oneCycle({ maxLr: 1, totalSteps: 101, pctStart: 0.5, divFactor: 10, finalDivFactor: 1 })
    expect(t(49.5)).toBeCloseTo(1, 15)
    expect(t(20)).toBeCloseTo(0.4163858, 7)
  })

  it('joinSchedules: each piece sees the step counted from its boundary', () => {
    const ramp = linearSchedule({ from: 0, to: 10, steps: 10 })
    const s = joinSchedules([constantSchedule(1), ramp, (n) => 100 + n], [5, 20])
    expect([0, 4, 5, 10, 19, 20, 23].map(s)).toEqual([1, 1, 0, 5, 10, 100, 103])
  })
})

describe('hyperparams follow the schedule', () => {
  it('reports the lr the next update uses, and the update uses it', () => {
    // stepDecay 0.1, halved every 2 steps; gradient 1 everywhere, so each update is -lr
    const optimizer = sgd({ lr: stepDecay({ init: 0.1, stepSize: 2, gamma: 0.5 }) })
    let params = tinyTree(0, 0, 0)
    let state = optimizer.init(params)
    const reported: number[] = []
    const applied: number[] = []
    for (let i = 0; i < 5; i++) {
      reported.push(optimizer.hyperparams?.(state).lr ?? NaN)
      const next = step(optimizer, params, state, () => tinyTree(1, 1, 1))
      applied.push(-(next.updates.w?.[0] ?? NaN))
      ;({ params, state } = next)
    }
    expect(reported).toEqual([0.1, 0.1, 0.05, 0.05, 0.025])
    applied.forEach((lr, i) => expect(lr).toBeCloseTo(reported[i] as number, 7))
    expect(optimizer.hyperparams?.(state).lr).toBe(0.025)
    releaseGeneration([params, state], null)
  })

  it('adam reports its constant lr', () => {
    tf.tidy(() => {
      const optimizer = adam({ lr: 3e-4 })
      expect(optimizer.hyperparams?.(optimizer.init(tinyTree(1, 2, 3)))).toEqual({ lr: 3e-4 })
    })
  })
})
