/**
 * The learning-rate finder's arithmetic, pure (Lightning's `_LRFinder`): the sweep of learning
 * rates, the smoothed loss and its divergence test, and the suggestion at the steepest descent.
 * Kept apart from the run so that each rule is tested on numbers alone.
 */
import type { Schedule } from '../optim/transform.js'

/**
 * How the sweep moves from `minLr` to `maxLr`: geometrically (Lightning's default) or in equal steps.
 *
 * @example
 * const mode: tuner.LrFindMode = 'linear' // e.g. to zoom in on 1e-3..1e-2 after an exponential sweep
 * const found = await lastValueFrom(tuner.lrFind(module, { train }, { optimizer: (lr) => optim.sgd({ lr }), mode, minLr: 1e-3, maxLr: 1e-2 }))
 */
export type LrFindMode = 'exponential' | 'linear'

/**
 * The learning rate of the `step`-th update (0-based) of a sweep of `numTraining` updates:
 * Lightning's `_ExponentialLR` / `_LinearLR`, `minLr * (maxLr / minLr) ** (step / numTraining)`
 * or `minLr + (step / numTraining) * (maxLr - minLr)`. The first update uses `minLr`.
 */
export const sweepSchedule = (mode: LrFindMode, minLr: number, maxLr: number, numTraining: number): Schedule => (step) => {
  const r = step / numTraining
  return mode === 'exponential' ? minLr * (maxLr / minLr) ** r : minLr + r * (maxLr - minLr)
}

/** The smoother's running state: the exponential average, the best smoothed loss and the points so far. */
export interface Smoother {
  readonly avg: number
  readonly best: number
  readonly count: number
}

export const startSmoother: Smoother = { avg: 0, best: Number.POSITIVE_INFINITY, count: 0 }

/**
 * One raw loss into the smoother (Lightning's `LRFinderCallback.on_train_batch_end`): the
 * exponential average with bias correction, `avg / (1 - beta ** (i + 1))`, and whether the run
 * diverged, i.e. the smoothed loss passed `threshold` times the best one (from the second point
 * on, as Lightning), or is not finite. `threshold` undefined never stops. (Lightning divides by
 * `1 - beta ** (globalStep + 1)` with the step already counted, one power too many for the first
 * points; this is the textbook correction, so the first smoothed loss is the first raw loss.)
 */
export const smoothLoss = (s: Smoother, loss: number, beta: number, threshold: number | undefined): { readonly next: Smoother; readonly smoothed: number; readonly diverged: boolean } => {
  const avg = beta * s.avg + (1 - beta) * loss
  const smoothed = avg / (1 - beta ** (s.count + 1))
  const diverged = !Number.isFinite(smoothed) || (threshold !== undefined && s.count >= 1 && smoothed > threshold * s.best)
  const best = smoothed < s.best ? smoothed : s.best
  return { next: { avg, best, count: s.count + 1 }, smoothed, diverged }
}

/**
 * `torch.gradient` of `y` over the points `x`: second-order central differences inside
 * (for uneven spacing too), one-sided differences at both ends.
 */
export const gradient = (y: readonly number[], x: readonly number[]): number[] =>
  y.map((yi, i) => {
    const n = y.length
    if (i === 0) return ((y[1] as number) - yi) / ((x[1] as number) - (x[0] as number))
    if (i === n - 1) return (yi - (y[i - 1] as number)) / ((x[i] as number) - (x[i - 1] as number))
    const hl = (x[i] as number) - (x[i - 1] as number)
    const hr = (x[i + 1] as number) - (x[i] as number)
    return (hl * hl * (y[i + 1] as number) - hr * hr * (y[i - 1] as number) + (hr * hr - hl * hl) * yi) / (hl * hr * (hl + hr))
  })

/**
 * Lightning's `_LRFinder.suggestion`: leaves out the first `skipBegin` and the last `skipEnd`
 * points (the smoother's warm-up and the divergence), drops non-finite losses, and returns the
 * learning rate where the smoothed loss falls fastest: the most negative gradient over
 * log10(lr) for an exponential sweep (over lr for a linear one). Undefined with fewer than two
 * points left (Lightning: "not enough points"; sweep longer, or over more data).
 */
export const suggestLr = (lrs: readonly number[], losses: readonly number[], mode: LrFindMode, skipBegin = 10, skipEnd = 1): number | undefined => {
  const idx = losses.map((_, i) => i).slice(skipBegin, losses.length - skipEnd).filter((i) => Number.isFinite(losses[i]))
  if (idx.length < 2) return undefined
  const x = idx.map((i) => (mode === 'exponential' ? Math.log10(lrs[i] as number) : (lrs[i] as number)))
  const g = gradient(idx.map((i) => losses[i] as number), x)
  let best = 0
  g.forEach((v, j) => {
    if (v < (g[best] as number)) best = j
  })
  return lrs[idx[best] as number]
}

/** The curve as CSV, one row a point: `lr,loss` (Lightning's `lr_finder.results` as a table). */
export const curveCsv = (lrs: readonly number[], losses: readonly number[]): string =>
  ['lr,loss', ...lrs.map((lr, i) => `${lr},${losses[i] ?? ''}`)].join('\n') + '\n'

/** The curve as `rxtrain report` reads it (`lr_finder.json`: `{ lr, loss, suggestion }`). */
export const curveJson = (lrs: readonly number[], losses: readonly number[], suggestion: number | undefined): string =>
  JSON.stringify({ lr: lrs, loss: losses.map((l) => (Number.isFinite(l) ? l : null)), ...(suggestion !== undefined && { suggestion }) })
