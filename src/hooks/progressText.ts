/* The pieces of `progressBar`'s text: durations, rates, counts and the bar's blocks. */
import type { Metrics } from '../pipeline/events.js'

const BAR_WIDTH = 25

/** `12.3s`, `2:05`, `1:02:05`. */
export const formatDuration = (ms: number): string => {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** Batches per second as tqdm shows it: `180.2 it/s`, or `2.50 s/it` when slower than one a second. */
export const formatRate = (rate: number | undefined): string =>
  rate === undefined ? '? it/s' : rate >= 1 ? `${rate.toFixed(1)} it/s` : `${(1 / rate).toFixed(2)} s/it`

/** `n/total`, or `n` when the total is unknown. */
export const of = (n: number, total: number): string => (Number.isFinite(total) ? `${n}/${total}` : `${n}`)

/** The bar's blocks for `done` of `total` (nothing when the total is unknown). */
export const bar = (done: number, total: number): string => {
  if (!Number.isFinite(total)) return ''
  const filled = total <= 0 ? BAR_WIDTH : Math.min(BAR_WIDTH, Math.floor((BAR_WIDTH * done) / total))
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)} `
}

/** The validation names worth showing: those marked for the bar, or every `val/` value when none is. */
export const validationNames = (progBar: readonly string[] | undefined, metrics: Metrics): string[] =>
  progBar !== undefined && progBar.length > 0 ? [...progBar] : Object.keys(metrics).filter((n) => n.startsWith('val/')).sort()
