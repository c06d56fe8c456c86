import type { MetricSpec } from '../core/metricSpec.js'

type VarianceSpec = Extract<MetricSpec, { readonly kind: 'r2' | 'explainedVariance' }>

/**
 * R² or explained variance from per-output sums `[n, Σy, Σy², Σe, Σe²]` (e = y - ŷ), averaged
 * uniformly over outputs (scikit-learn's `multioutput='uniform_average'`). A constant target
 * scores 1 when predicted exactly and 0 otherwise (scikit-learn's `force_finite=True`).
 */
export const varianceScore = (stats: readonly number[], spec: VarianceSpec): number => {
  let total = 0
  for (let o = 0; o < spec.outputs; o++) {
    const [n = 0, sy = 0, syy = 0, se = 0, see = 0] = stats.slice(o * 5, o * 5 + 5)
    if (n === 0) return Number.NaN
    const targetVar = syy / n - (sy / n) ** 2
    const residual = spec.kind === 'r2' ? see / n : see / n - (se / n) ** 2
    total += targetVar === 0 ? (residual === 0 ? 1 : 0) : 1 - residual / targetVar
  }
  return total / spec.outputs
}
