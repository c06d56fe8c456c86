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

/** The bar's `width` blocks for `done` of `total`, and a space (nothing when the total is unknown). */
export const bar = (done: number, total: number, width = BAR_WIDTH): string => {
  if (!Number.isFinite(total)) return ''
  const filled = total <= 0 ? width : Math.min(width, Math.floor((width * done) / total))
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} `
}

/** A bar narrower than this says nothing that the count beside it does not. */
const MIN_BAR_WIDTH = 10

/**
 * A part of a live progress line after its count. When the line is wider than the terminal the
 * parts with the lowest `drop` go first (the last of equals first); a part without one stays.
 */
export interface LinePart {
  readonly text: string
  readonly drop?: number
}

/** Columns a string takes (one per code point: the bar's blocks and `·` are one column wide). */
const columnsOf = (s: string): number => [...s].length

/**
 * A live progress line in at most `width` columns, as `label bar count · part · part`: the parts
 * that do not fit are dropped, least important first (so at 80 columns the rate and the time go
 * before any metric, and validation metrics, given the highest `drop`, stay), then the bar takes
 * the room left, up to its 25 blocks; with less than 10 it is left out (`label · count · ...`).
 * Only a label, count and undroppable parts wider than the terminal are cut (by the terminal).
 */
export const fitLine = (label: string, done: number, total: number, parts: readonly LinePart[], width: number): string => {
  const kept = [...parts]
  const length = (): number => columnsOf(`${label} · ${of(done, total)}${kept.map((p) => ` · ${p.text}`).join('')}`)
  while (length() > width) {
    let drop = -1
    kept.forEach((p, i) => {
      const cheapest = kept[drop]?.drop
      if (p.drop !== undefined && (cheapest === undefined || p.drop <= cheapest)) drop = i
    })
    if (drop < 0) break
    kept.splice(drop, 1)
  }
  const rest = kept.map((p) => ` · ${p.text}`).join('')
  // `label bar count` is one column longer than `label · count` for each block but the first.
  const blocks = Math.min(BAR_WIDTH, width - length() + 1)
  if (!Number.isFinite(total) || blocks < MIN_BAR_WIDTH) return `${label} · ${of(done, total)}${rest}`
  return `${label} ${bar(done, total, blocks)}${of(done, total)}${rest}`
}

/** The validation names worth showing: those marked for the bar, or every `val/` value when none is. */
export const validationNames = (progBar: readonly string[] | undefined, metrics: Metrics): string[] =>
  progBar !== undefined && progBar.length > 0 ? [...progBar] : Object.keys(metrics).filter((n) => n.startsWith('val/')).sort()
