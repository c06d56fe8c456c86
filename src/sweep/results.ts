import type { Trial } from './expand.js'

/*
 * The sweep's results table: one row per trial (its values, the monitored metric, its status and
 * duration), best first, as text for the terminal, CSV and Markdown.
 */

/** What a trial's `result.json` says, as far as the table needs it. */
export interface TrialResult {
  readonly status: string
  readonly metrics?: Readonly<Record<string, number>>
  readonly monitor?: string
  readonly best?: { readonly checkpoint: string; readonly score: number }
  readonly durationMs?: number
}

/** One row of the table. */
export interface ResultRow {
  readonly trial: Trial
  /** `finished`, `interrupted`, `failed` (from result.json), or `not run` (no result.json). */
  readonly status: string
  readonly score: number | undefined
  readonly durationMs: number | undefined
}

/**
 * The trial's score on `monitor`: its best checkpoint's score when its checkpoint hook monitored
 * the same metric (the value a model selection would keep), else the metric's last value.
 *
 * @example
 * scoreOf({ status: 'finished', metrics: { 'val/loss': 0.3 }, monitor: 'val/loss', best: { checkpoint: 'c', score: 0.25 } }, 'val/loss')   // 0.25
 */
export const scoreOf = (result: TrialResult | undefined, monitor: string | undefined): number | undefined => {
  if (result === undefined || monitor === undefined) return undefined
  if (result.monitor === monitor && result.best !== undefined && Number.isFinite(result.best.score)) return result.best.score
  const last = result.metrics?.[monitor]
  return typeof last === 'number' ? last : undefined
}

/** A row per trial. */
export const resultRow = (trial: Trial, result: TrialResult | undefined, monitor: string | undefined): ResultRow => ({
  trial,
  status: result?.status ?? 'not run',
  score: scoreOf(result, monitor),
  durationMs: result?.durationMs,
})

/**
 * Rows best first by the monitored metric (`min` or `max`); rows without a score (failed, not
 * run, metric not logged) after them, in trial order. Ties keep trial order.
 *
 * @example
 * sortRows(rows, 'max')   // the highest accuracy first
 */
export const sortRows = (rows: readonly ResultRow[], mode: 'min' | 'max'): ResultRow[] =>
  [...rows].sort((a, b) => {
    if (a.score === undefined || b.score === undefined || Number.isNaN(a.score) || Number.isNaN(b.score)) {
      const rank = (r: ResultRow) => (r.score === undefined || Number.isNaN(r.score) ? 1 : 0)
      return rank(a) - rank(b) || a.trial.index - b.trial.index
    }
    return (mode === 'min' ? a.score - b.score : b.score - a.score) || a.trial.index - b.trial.index
  })

const short = (v: unknown): string => {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString()
  if (typeof v === 'string') return v
  return JSON.stringify(v) ?? String(v)
}
const seconds = (ms: number | undefined): string => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`)

/** The table's header and cells as text (numbers shortened for reading). */
export const cells = (rows: readonly ResultRow[], paths: readonly string[], monitor: string | undefined): string[][] => [
  ['trial', ...paths, monitor ?? 'score', 'status', 'duration'],
  ...rows.map((r) => [r.trial.id, ...paths.map((p) => short(r.trial.values[p])), r.score === undefined ? '' : short(r.score), r.status, seconds(r.durationMs)]),
]

/**
 * The table for the terminal: columns aligned, numbers at 4 significant digits.
 *
 * @example
 * formatTable(sortRows(rows, 'min'), ['model.args.lr'], 'val/loss').join('\n')
 * // trial    model.args.lr  val/loss  status    duration
 * // trial_2  0.001          0.2512    finished  14.2 s
 */
export const formatTable = (rows: readonly ResultRow[], paths: readonly string[], monitor: string | undefined): string[] => {
  const table = cells(rows, paths, monitor)
  const widths = (table[0] as string[]).map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)))
  return table.map((row) => row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd())
}

/** The table as Markdown (the same cells as the terminal's). */
export const formatMarkdown = (rows: readonly ResultRow[], paths: readonly string[], monitor: string | undefined): string => {
  const [header, ...body] = cells(rows, paths, monitor)
  const line = (row: readonly string[]) => `| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(header as string[]), line((header as string[]).map(() => '---')), ...body.map(line)].join('\n') + '\n'
}

const csvCell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
const fullValue = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)))

/**
 * The table as CSV, with full-precision numbers and the duration in seconds, for a spreadsheet
 * or pandas.
 *
 * @example
 * formatCsv(rows, ['model.args.lr'], 'val/loss')   // 'trial,model.args.lr,val/loss,status,duration_s\ntrial_2,0.001,0.25123,finished,14.2\n'
 */
export const formatCsv = (rows: readonly ResultRow[], paths: readonly string[], monitor: string | undefined): string =>
  [
    ['trial', ...paths, monitor ?? 'score', 'status', 'duration_s'],
    ...rows.map((r) => [r.trial.id, ...paths.map((p) => fullValue(r.trial.values[p])), fullValue(r.score), r.status, r.durationMs === undefined ? '' : String(r.durationMs / 1000)]),
  ]
    .map((row) => row.map(csvCell).join(','))
    .join('\n') + '\n'
