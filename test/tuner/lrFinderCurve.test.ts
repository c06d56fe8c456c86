import { describe, expect, it } from 'vitest'
import { curveCsv, curveJson, gradient, smoothLoss, startSmoother, suggestLr, sweepSchedule } from '../../src/tuner/lrFinderCurve.js'

describe('the learning-rate sweep', () => {
  it('starts at minLr and moves geometrically (exponential) or evenly (linear) towards maxLr', () => {
    const exp = sweepSchedule('exponential', 1e-8, 1, 100)
    expect(exp(0)).toBe(1e-8)
    expect(exp(50)).toBeCloseTo(1e-4, 12)
    expect(exp(100)).toBeCloseTo(1, 12)
    const lin = sweepSchedule('linear', 0.1, 1.1, 10)
    expect(lin(0)).toBeCloseTo(0.1, 12)
    expect(lin(5)).toBeCloseTo(0.6, 12)
  })
})

describe('the smoothed loss', () => {
  it('is bias-corrected (the first smoothed loss is the first loss) and an exponential average after', () => {
    const a = smoothLoss(startSmoother, 2, 0.98, 4)
    expect(a.smoothed).toBeCloseTo(2, 12)
    const b = smoothLoss(a.next, 1, 0.98, 4)
    // (0.98 * 0.02 * 2 + 0.02 * 1) / (1 - 0.98^2)
    expect(b.smoothed).toBeCloseTo((0.98 * 0.02 * 2 + 0.02) / (1 - 0.98 ** 2), 12)
    expect(b.next.best).toBeCloseTo(b.smoothed, 12)
  })

  it('diverges once it passes threshold x the best smoothed loss, or is not finite, and never with no threshold', () => {
    const beta = 0
    let s = smoothLoss(startSmoother, 1, beta, 4).next
    expect(smoothLoss(s, 3.9, beta, 4).diverged).toBe(false)
    s = smoothLoss(s, 0.5, beta, 4).next
    expect(smoothLoss(s, 2.1, beta, 4).diverged).toBe(true)
    expect(smoothLoss(s, 2.1, beta, undefined).diverged).toBe(false)
    expect(smoothLoss(s, Number.NaN, beta, undefined).diverged).toBe(true)
    // never on the first point, however large
    expect(smoothLoss(startSmoother, 1e9, beta, 4).diverged).toBe(false)
  })
})

describe('the suggestion', () => {
  it('is torch.gradient: central differences inside (uneven spacing too), one-sided at the ends', () => {
    expect(gradient([0, 1, 4, 9], [0, 1, 2, 3])).toEqual([1, 2, 4, 5])
    // y = x^2 on uneven points: the second-order formula is exact inside
    expect(gradient([0, 1, 9], [0, 1, 3])[1]).toBeCloseTo(2, 12)
  })

  it('is the learning rate of the steepest descent, skipping the first 10 points and the last one', () => {
    const lrs = Array.from({ length: 30 }, (_, i) => 10 ** (-6 + i * 0.2))
    // flat, a cliff around point 20, then up; a steeper drop in the skipped first points
    const cliff: Record<number, number> = { 20: 1.2, 21: 0.2, 22: 0.3 }
    const losses = lrs.map((_, i) => (i < 3 ? 10 - 3 * i : i < 20 ? 2 : (cliff[i] ?? 0.3 + (i - 22))))
    losses[29] = -100 // the last point is skipped (it is where the run diverged)
    expect(suggestLr(lrs, losses, 'exponential')).toBe(lrs[20])
  })

  it('ignores non-finite losses and gives none without two points to choose from', () => {
    const lrs = Array.from({ length: 14 }, (_, i) => i + 1)
    const losses = lrs.map((lr) => 10 - lr)
    losses[11] = Number.NaN
    expect(suggestLr(lrs, losses, 'linear')).toBeDefined()
    expect(suggestLr(lrs.slice(0, 12), losses.slice(0, 12), 'linear')).toBeUndefined()
  })
})

describe('the curve files', () => {
  it('writes CSV rows lr,loss and the JSON the report reads ({ lr, loss, suggestion }, non-finite losses as null)', () => {
    expect(curveCsv([1e-3, 1e-2], [2, 1.5])).toBe('lr,loss\n0.001,2\n0.01,1.5\n')
    expect(JSON.parse(curveJson([1e-3, 1e-2], [2, Number.POSITIVE_INFINITY], 1e-3))).toEqual({ lr: [1e-3, 1e-2], loss: [2, null], suggestion: 1e-3 })
  })
})
