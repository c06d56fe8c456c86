/** A saved checkpoint and its monitored score. */
export interface Scored {
  readonly name: string
  readonly score: number
}

export type Mode = 'min' | 'max'

/** NaN is never better than anything (Lightning reads it as +inf for min and -inf for max). */
const comparable = (score: number, mode: Mode): number => (Number.isNaN(score) ? (mode === 'min' ? Infinity : -Infinity) : score)

export const isBetter = (a: number, b: number, mode: Mode): boolean =>
  mode === 'min' ? comparable(a, mode) < comparable(b, mode) : comparable(a, mode) > comparable(b, mode)

/** The kept checkpoints, best first. */
export const ranked = (kept: readonly Scored[], mode: Mode): Scored[] =>
  [...kept].sort((a, b) => (isBetter(a.score, b.score, mode) ? -1 : isBetter(b.score, a.score, mode) ? 1 : 0))

/** Whether a new score earns a place among the best `k` (Lightning's `check_monitor_top_k`). */
export const admits = (kept: readonly Scored[], k: number, score: number, mode: Mode): boolean => {
  if (k === 0) return false
  if (k === -1 || kept.length < k) return true
  const worst = ranked(kept, mode).at(-1)
  return worst === undefined || isBetter(score, worst.score, mode)
}

/** Adds a checkpoint to the best `k`, returning the new list and the one it pushes out, if any. */
export const admit = (kept: readonly Scored[], k: number, entry: Scored, mode: Mode): { kept: Scored[]; evicted: string | undefined } => {
  const all = ranked([...kept, entry], mode)
  if (k === -1 || all.length <= k) return { kept: all, evicted: undefined }
  return { kept: all.slice(0, k), evicted: all.at(-1)?.name }
}
