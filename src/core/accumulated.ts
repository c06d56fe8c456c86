import type { MetricStats } from './metricSpec.js'

/** How values logged over an epoch are combined. `mean` is weighted by batch size. */
export type Reduction = 'mean' | 'sum' | 'min' | 'max'

/**
 * A value combined over an epoch: for `mean`, `value` is a weighted sum. A metric state (precision,
 * AUROC, R², ...) carries its statistics in `metric`, merged by the metric's own monoid; its
 * `value` is then unused and `weight` counts examples.
 */
export interface Accumulated {
  readonly reduce: Reduction
  readonly value: number
  readonly weight: number
  readonly metric?: MetricStats
}
