/**
 * How the report reads a metric's name (Lightning's conventions): a stage prefix (`train/`,
 * `val/`, `test/`), a `_step` / `_epoch` suffix when a value is logged both per step and per
 * epoch, and well-known names (learning rate, loss scale, gradient norm, confusion-matrix cells)
 * that get their own axis titles and scales. Pure string rules, tested on their own.
 */

const STAGES = ['train', 'val', 'validation', 'test'] as const

/** Where one logged name goes: which chart (`group`) and which line on it (`series`). */
export interface MetricRole {
  readonly group: string
  readonly series: string
}

/** A cell of a logged confusion matrix: `<stage>/confusion/<actual>/<predicted>` (the count, or a fraction). */
export interface ConfusionCell {
  readonly matrix: string
  readonly actual: string
  readonly predicted: string
}

const CONFUSION = /^(?:(.+)\/)?confusion(?:_matrix)?\/([^/]+)\/([^/]+)$/

export const confusionCell = (name: string): ConfusionCell | undefined => {
  const m = CONFUSION.exec(name)
  if (m === null) return undefined
  return { matrix: m[1] ?? '', actual: m[2] as string, predicted: m[3] as string }
}

/**
 * The chart and line of a scalar: `train/loss_step` → loss / "train (step)", `train/loss_epoch` →
 * loss / "train (epoch mean)", `val/loss` → loss / "val", `lr` → lr / "lr".
 */
export const metricRole = (name: string): MetricRole => {
  const slash = name.indexOf('/')
  const stage = slash > 0 ? name.slice(0, slash) : ''
  if (!(STAGES as readonly string[]).includes(stage)) return { group: name, series: name }
  const rest = name.slice(slash + 1)
  if (rest.endsWith('_step') && rest.length > 5) return { group: rest.slice(0, -5), series: `${stage} (step)` }
  if (rest.endsWith('_epoch') && rest.length > 6) return { group: rest.slice(0, -6), series: `${stage} (epoch mean)` }
  return { group: rest, series: stage }
}

/** The last path part of a group, lower-cased, for the rules below (`optim/lr` → `lr`). */
const leaf = (group: string): string => (group.split('/').at(-1) ?? group).toLowerCase()

export const isLearningRate = (group: string): boolean => /^(lr|learning_?rate)([-_].*)?$/.test(leaf(group))
export const isLossScale = (group: string): boolean => /^loss_?scale$/.test(leaf(group).replace(/-/g, '_'))
export const isGradNorm = (group: string): boolean => /grad(ient)?_?norm/.test(leaf(group).replace(/-/g, '_')) || /(^|\/)grad(ient)?s?\/norm/.test(group.toLowerCase())

/** Values that span decades are drawn on a log scale (base 2 for the loss scale, which moves by factors of 2). */
export const scaleTypeOf = (group: string): { readonly type: 'log'; readonly base: number } | { readonly type: 'linear' } =>
  isLearningRate(group) ? { type: 'log', base: 10 } : isLossScale(group) ? { type: 'log', base: 2 } : { type: 'linear' }

/** The y axis title, with the unit where the name tells it. */
export const axisTitleOf = (group: string): string => {
  const l = leaf(group)
  if (isLearningRate(group)) return 'learning rate (log scale)'
  if (isLossScale(group)) return 'loss scale (factor, log₂ scale)'
  if (isGradNorm(group)) return 'gradient norm (L2)'
  if (/(^|_)(acc|accuracy|top\d+)($|_)/.test(l)) return `${group} (fraction correct, 0–1)`
  if (/(^|_)loss($|_)/.test(l)) return `${group} (mean per example)`
  if (/(_|^)(time|duration|secs?|seconds)$/.test(l) || l.endsWith('_s')) return `${group} (seconds)`
  if (l.endsWith('_ms')) return `${group} (milliseconds)`
  return group
}

/** Chart order: losses, then other metrics by name, then the optimisation's own values (lr, gradient norm, loss scale). */
export const groupRank = (group: string): number =>
  /(^|_)loss($|_)/.test(leaf(group)) && !isLossScale(group) ? 0 : isLearningRate(group) ? 2 : isGradNorm(group) ? 3 : isLossScale(group) ? 4 : 1

/** A file-name-safe id: `val/loss` → `val-loss`. */
export const slug = (s: string): string => s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'chart'
