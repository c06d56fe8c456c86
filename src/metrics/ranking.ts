import type { MetricSpec } from '../core/metricSpec.js'

type RankingSpec = Extract<MetricSpec, { readonly kind: 'auroc' | 'averagePrecision' }>

/** Positive and negative example counts per score group, groups in ascending score order. */
interface Groups {
  readonly pos: readonly number[]
  readonly neg: readonly number[]
}

/** AUROC of grouped counts: pairs in different groups are ordered, pairs within one count ½ (ties). */
const aurocOf = ({ pos, neg }: Groups): { value: number; bound: number } => {
  let below = 0
  let credit = 0
  let tied = 0
  let p = 0
  for (let g = 0; g < pos.length; g++) {
    const pg = pos[g] ?? 0
    const ng = neg[g] ?? 0
    credit += pg * (below + 0.5 * ng)
    tied += pg * ng
    below += ng
    p += pg
  }
  const pairs = p * below
  return pairs === 0 ? { value: Number.NaN, bound: Number.NaN } : { value: credit / pairs, bound: (0.5 * tied) / pairs }
}

/**
 * Average precision (scikit-learn's: Σ (Rₙ - Rₙ₋₁) Pₙ over thresholds, no interpolation) of grouped
 * counts, each group one threshold. `bound` bounds how far any order of the examples inside the
 * groups could move it: a positive in group g sees a precision between (a+1)/(a+f+1+N_g) and
 * (a+P_g)/(a+f+P_g), with a and f the positives and negatives above the group.
 */
const averagePrecisionOf = ({ pos, neg }: Groups): { value: number; bound: number } => {
  const p = pos.reduce((x, y) => x + y, 0)
  if (p === 0) return { value: Number.NaN, bound: Number.NaN }
  let a = 0
  let f = 0
  let value = 0
  let bound = 0
  for (let g = pos.length - 1; g >= 0; g--) {
    const pg = pos[g] ?? 0
    const ng = neg[g] ?? 0
    if (pg > 0) {
      value += (pg / p) * ((a + pg) / (a + f + pg + ng))
      bound += (pg / p) * ((a + pg) / (a + f + pg) - (a + 1) / (a + f + 1 + ng))
    }
    a += pg
    f += ng
  }
  return { value, bound }
}

/** The score groups of class `k`'s one-vs-rest problem in an exact state: rows of (label, scores...). */
const exactGroups = (rows: readonly number[], columns: number, k: number, binary: boolean): Groups => {
  const n = Math.floor(rows.length / (columns + 1))
  const examples: { score: number; positive: boolean }[] = []
  for (let i = 0; i < n; i++) {
    const label = rows[i * (columns + 1)] ?? 0
    examples.push({ score: rows[i * (columns + 1) + 1 + k] ?? 0, positive: binary ? label === 1 : label === k })
  }
  examples.sort((x, y) => x.score - y.score)
  const pos: number[] = []
  const neg: number[] = []
  let last = Number.NaN
  for (const e of examples) {
    if (e.score !== last) {
      pos.push(0)
      neg.push(0)
      last = e.score
    }
    const g = pos.length - 1
    if (e.positive) pos[g] = (pos[g] ?? 0) + 1
    else neg[g] = (neg[g] ?? 0) + 1
  }
  return { pos, neg }
}

/**
 * AUROC or average precision of a state, one-vs-rest and macro-averaged over classes where there
 * are more than one (scikit-learn's `multi_class='ovr'`, `average='macro'`), with `bound`: how
 * far the binned value can be from the exact one (0 for an exact state, and for a binned one
 * where no bin holds examples of both classes).
 */
export const rankingValue = (stats: readonly number[], spec: RankingSpec): { value: number; bound: number } => {
  const of = spec.kind === 'auroc' ? aurocOf : averagePrecisionOf
  let value = 0
  let bound = 0
  for (let k = 0; k < spec.classes; k++) {
    const groups =
      spec.bins === 'exact'
        ? exactGroups(stats, spec.classes, k, spec.classes === 1)
        : { pos: stats.slice(2 * k * spec.bins, (2 * k + 1) * spec.bins), neg: stats.slice((2 * k + 1) * spec.bins, (2 * k + 2) * spec.bins) }
    const r = of(groups)
    value += r.value / spec.classes
    bound += r.bound / spec.classes
  }
  return spec.bins === 'exact' ? { value, bound: 0 } : { value, bound }
}
