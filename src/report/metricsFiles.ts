import type { MetricPoint } from './runData.js'
import { splitCsvLine } from '../hooks/csvLine.js'

export { splitCsvLine }

/**
 * Readers of the two text loggers' files into `MetricPoint`s. They split CSV lines as the logger
 * does (`splitCsvLine`), but read the rest themselves rather than borrow the loggers' readers, because a report must read files written by any rxtrain version
 * and skip what it cannot read (a torn last line of a run that was killed), where a logger
 * resuming its own file must refuse it.
 */

/** A cell as csvLogger writes it (Python's csv conventions for the non-finite values). */
const cellValue = (s: string): number | undefined => {
  const t = s.trim()
  if (t === '') return undefined
  if (t === 'nan' || t === 'NaN') return Number.NaN
  if (t === 'inf' || t === 'Infinity') return Infinity
  if (t === '-inf' || t === '-Infinity') return -Infinity
  const v = Number(t)
  return Number.isNaN(v) ? undefined : v
}

/** What a metrics file gave: the points, and the lines that could not be read. */
export interface ParsedMetrics {
  readonly points: MetricPoint[]
  readonly skippedLines: number
  /** First and last row time (metrics.jsonl only). */
  readonly timeSpan?: readonly [number, number]
}

/** `metrics.csv`: header `epoch,step,<names...>`, one row per logged step; empty cells are values not logged there. */
export const parseMetricsCsv = (text: string): ParsedMetrics => {
  const [head, ...body] = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (head === undefined) return { points: [], skippedLines: 0 }
  const columns = splitCsvLine(head)
  const epochAt = columns.indexOf('epoch')
  const stepAt = columns.indexOf('step')
  const points: MetricPoint[] = []
  let skippedLines = 0
  for (const l of body) {
    const cells = splitCsvLine(l)
    const epoch = cellValue(cells[epochAt] ?? '')
    const step = cellValue(cells[stepAt] ?? '')
    if (epoch === undefined || step === undefined || cells.length !== columns.length) {
      skippedLines++
      continue
    }
    columns.forEach((name, i) => {
      if (i === epochAt || i === stepAt) return
      const value = cellValue(cells[i] ?? '')
      if (value !== undefined) points.push({ name, epoch, step, value })
    })
  }
  return { points, skippedLines }
}

const jsonNumber = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' ? cellValue(v) : undefined

/** `metrics.jsonl`: `{ kind, epoch, step, time, metrics }` a line (non-finite values as strings). */
export const parseMetricsJsonl = (text: string): ParsedMetrics => {
  const points: MetricPoint[] = []
  let skippedLines = 0
  let first: number | undefined
  let last: number | undefined
  for (const l of text.split(/\r?\n/)) {
    if (l.trim() === '') continue
    let row: unknown
    try {
      row = JSON.parse(l)
    } catch {
      skippedLines++
      continue
    }
    const r = row as { epoch?: unknown; step?: unknown; time?: unknown; metrics?: unknown }
    if (typeof r.epoch !== 'number' || typeof r.step !== 'number' || typeof r.metrics !== 'object' || r.metrics === null) {
      skippedLines++
      continue
    }
    if (typeof r.time === 'number' && r.time > 0) {
      first = first === undefined ? r.time : Math.min(first, r.time)
      last = last === undefined ? r.time : Math.max(last, r.time)
    }
    for (const [name, v] of Object.entries(r.metrics)) {
      const value = jsonNumber(v)
      if (value !== undefined) points.push({ name, epoch: r.epoch, step: r.step, value })
    }
  }
  return { points, skippedLines, ...(first !== undefined && last !== undefined && { timeSpan: [first, last] as const }) }
}
