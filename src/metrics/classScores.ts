import type { MetricSpec } from '../core/metricSpec.js'

type ClassSpec = Extract<MetricSpec, { readonly kind: 'precision' | 'recall' | 'f1' }>

/** `num / den`, or 0 where `den` is 0 (scikit-learn's `zero_division=0`, torchmetrics' default). */
const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den)

/**
 * Precision, recall or F1 from confusion counts (`counts[actual * classes + predicted]`),
 * averaged as `spec.average` says over all `spec.classes` classes (scikit-learn with
 * `labels=range(classes)`, `zero_division=0`; torchmetrics' multiclass metrics).
 */
export const classScores = (counts: readonly number[], spec: ClassSpec): number => {
  const c = spec.classes
  const tp: number[] = []
  const predicted: number[] = []
  const actual: number[] = []
  for (let k = 0; k < c; k++) {
    let p = 0
    let a = 0
    for (let j = 0; j < c; j++) {
      p += counts[j * c + k] ?? 0
      a += counts[k * c + j] ?? 0
    }
    tp.push(counts[k * c + k] ?? 0)
    predicted.push(p)
    actual.push(a)
  }
  const score = (t: number, p: number, a: number): number =>
    spec.kind === 'precision' ? ratio(t, p) : spec.kind === 'recall' ? ratio(t, a) : ratio(2 * t, p + a)
  const sum = (xs: readonly number[]): number => xs.reduce((x, y) => x + y, 0)
  switch (spec.average) {
    case 'binary':
      return score(tp[spec.positive] ?? 0, predicted[spec.positive] ?? 0, actual[spec.positive] ?? 0)
    case 'micro':
      return score(sum(tp), sum(predicted), sum(actual))
    case 'macro':
      return c === 0 ? 0 : sum(tp.map((t, k) => score(t, predicted[k] ?? 0, actual[k] ?? 0))) / c
    case 'weighted':
      return ratio(sum(tp.map((t, k) => (actual[k] ?? 0) * score(t, predicted[k] ?? 0, actual[k] ?? 0))), sum(actual))
  }
}
