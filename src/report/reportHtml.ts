import type { Chart } from './chartSpecs.js'
import { confusionCell } from './metricNames.js'
import type { RunData } from './runData.js'

/**
 * The report page: one self-contained HTML file (charts inlined as SVG, styles inline, no script,
 * nothing fetched), so it opens from disk, from a CI artifact or an e-mail. A pure function of
 * the runs and the drawn charts.
 */

/** A chart as drawn: its SVG (ids already made unique in the page) and its PNG's file name. */
export interface DrawnChart {
  readonly chart: Chart
  readonly svg: string
  readonly png: string
}

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')

/** `83512` → `1 min 23.5 s`; `5400000` → `1 h 30 min`. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${(s - m * 60).toFixed(1)} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

const formatNumber = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(5).replace(/\.?0+$/, '') : v.toExponential(3))

/** The last logged value of every scalar (confusion-matrix cells aside): what a run without result.json ended with. */
export const lastValues = (run: RunData): Record<string, number> => {
  const out: Record<string, { step: number; value: number }> = {}
  for (const p of run.points) {
    if (confusionCell(p.name) !== undefined) continue
    const prev = out[p.name]
    if (prev === undefined || prev.step <= p.step) out[p.name] = { step: p.step, value: p.value }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]))
}

const str = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined)

/** The run's facts, with where each came from when not from result.json. */
export const runFacts = (run: RunData): [string, string][] => {
  const r = run.result ?? {}
  const h = run.hparams ?? {}
  const lastCkpt = run.checkpoints.at(-1)
  const precision = r.precision ?? str(h.precision) ?? lastCkpt?.precision
  const steps = run.points.map((p) => p.step)
  const epochs = run.points.map((p) => p.epoch)
  const bestCkpt = run.checkpoints.find((c) => c.best)
  const best = r.best ?? (bestCkpt === undefined ? undefined : { checkpoint: bestCkpt.name, ...(bestCkpt.score !== undefined && { score: bestCkpt.score }) })
  const monitor = r.monitor ?? bestCkpt?.monitor
  return [
    ['status', r.status === undefined ? 'unknown (no result.json)' : `${r.status}${r.reason !== undefined ? ` (${r.reason})` : ''}`],
    ...(r.error !== undefined ? [['error', r.error] as [string, string]] : []),
    ['backend', r.backend ?? `not recorded${str(h.accelerator) !== undefined ? ` (accelerator asked for: ${str(h.accelerator)})` : ''}`],
    ['precision', precision ?? 'not recorded'],
    ['rxtrain version', r.versions?.rxtrain ?? 'not recorded'],
    ['tfjs version', r.versions?.tfjs ?? 'not recorded'],
    [
      'duration',
      r.durationMs !== undefined
        ? formatDuration(r.durationMs)
        : run.loggedSpanMs !== undefined
          ? `at least ${formatDuration(run.loggedSpanMs)} (first to last logged row)`
          : 'not recorded',
    ],
    ...(r.startedAt !== undefined ? [['started', r.startedAt] as [string, string]] : []),
    ...(r.endedAt !== undefined ? [['ended', r.endedAt] as [string, string]] : []),
    ['epochs', r.epoch !== undefined ? String(r.epoch) : epochs.length > 0 ? `${Math.max(...epochs) + 1} (logged)` : 'unknown'],
    ['global step', r.globalStep !== undefined ? String(r.globalStep) : steps.length > 0 ? `${Math.max(...steps)} (last logged)` : 'unknown'],
    ...(best !== undefined
      ? [['best checkpoint', `${best.checkpoint ?? '?'}${best.score !== undefined ? ` (${monitor ?? 'score'} ${formatNumber(best.score)})` : ''}`] as [string, string]]
      : []),
    ['metrics file', run.metricsFile ?? 'none'],
  ]
}

const table = (head: readonly string[], rows: readonly (readonly string[])[], cls = ''): string =>
  `<table${cls === '' ? '' : ` class="${cls}"`}><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`)
    .join('')}</tbody></table>`

const summarySection = (runs: readonly RunData[]): string => {
  const facts = runs.map(runFacts)
  const keys = [...new Set(facts.flatMap((f) => f.map(([k]) => k)))]
  const rows = keys.map((k) => [k, ...facts.map((f) => f.find(([key]) => key === k)?.[1] ?? '')])
  return `<section id="summary"><h2>Run</h2>${table(['', ...runs.map((r) => r.label)], rows, 'facts')}</section>`
}

const metricsSection = (runs: readonly RunData[]): string => {
  const finals = runs.map((r) => ({ ...(r.result?.metrics ?? lastValues(r)), ...(r.result?.test ?? {}) }))
  const names = [...new Set(finals.flatMap((f) => Object.keys(f)))].sort()
  if (names.length === 0) return ''
  const from = runs.some((r) => r.result?.metrics !== undefined) ? 'as result.json records them' : 'the last logged value of each'
  return `<section id="metrics"><h2>Final metrics</h2><p class="note">${escapeHtml(from)}.</p>${table(
    ['metric', ...runs.map((r) => r.label)],
    names.map((n) => [n, ...finals.map((f) => (f[n] === undefined ? '' : formatNumber(f[n] as number)))]),
    'numbers',
  )}</section>`
}

const chartsSection = (charts: readonly DrawnChart[]): string =>
  charts.length === 0
    ? '<section id="charts"><h2>Charts</h2><p class="note">Nothing was logged to draw.</p></section>'
    : `<section id="charts"><h2>Charts</h2>${charts
        .map(
          (c) =>
            `<figure class="chart" id="chart-${escapeHtml(c.chart.id)}" data-kind="${c.chart.kind}">${c.svg}<figcaption>${escapeHtml(c.chart.title)} · <a href="${escapeHtml(c.png)}">${escapeHtml(c.png)}</a></figcaption></figure>`,
        )
        .join('')}</section>`

const checkpointsSection = (runs: readonly RunData[]): string => {
  const withCkpts = runs.filter((r) => r.checkpoints.length > 0)
  if (withCkpts.length === 0) return '<section id="checkpoints"><h2>Checkpoints</h2><p class="note">None in the run folder\'s checkpoints/.</p></section>'
  return `<section id="checkpoints"><h2>Checkpoints</h2>${withCkpts
    .map(
      (r) =>
        `${runs.length > 1 ? `<h3>${escapeHtml(r.label)}</h3>` : ''}${table(
          ['checkpoint', 'epoch', 'step', 'monitor', 'score', 'pointer', 'precision', 'saved at'],
          r.checkpoints.map((c) => [
            `${c.dir}/${c.name}`,
            c.epoch === undefined ? '' : String(c.epoch),
            c.step === undefined ? '' : String(c.step),
            c.monitor ?? '',
            c.score === undefined ? '' : formatNumber(c.score),
            [c.best ? 'best' : '', c.last ? 'last' : ''].filter((s) => s !== '').join(', '),
            c.precision ?? '',
            c.problem ?? c.createdAt ?? '',
          ]),
          'numbers',
        )}`,
    )
    .join('')}</section>`
}

const profilerSection = (runs: readonly RunData[]): string => {
  const withProfile = runs.filter((r) => r.profiler !== undefined)
  if (withProfile.length === 0) return ''
  return `<section id="profiler"><h2>Profiler</h2>${withProfile
    .map((r) => {
      const p = r.profiler as NonNullable<RunData['profiler']>
      const rows = p.rows.map((row) => p.columns.map((c) => (row[c] === undefined ? '' : typeof row[c] === 'number' ? formatNumber(row[c] as number) : String(row[c]))))
      return `${runs.length > 1 ? `<h3>${escapeHtml(r.label)}</h3>` : ''}${table(p.columns, rows, 'numbers')}`
    })
    .join('')}</section>`
}

const configSection = (runs: readonly RunData[]): string =>
  `<section id="config"><h2>Configuration</h2>${runs
    .map((r) => {
      const title = runs.length > 1 ? `<h3>${escapeHtml(r.label)}</h3>` : ''
      const config = r.configText !== undefined ? `<details open><summary>config.yaml (resolved)</summary><pre>${escapeHtml(r.configText)}</pre></details>` : '<p class="note">No config.yaml (runs started by <code>rxtrain fit</code> save their resolved config there).</p>'
      const hp = r.hparams === undefined ? '' : `<details${r.configText === undefined ? ' open' : ''}><summary>hparams.yaml</summary>${table(['name', 'value'], Object.entries(r.hparams).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))}</details>`
      return title + config + hp
    })
    .join('')}</section>`

const notesSection = (runs: readonly RunData[]): string => {
  const notes = runs.flatMap((r) => r.notes.map((n) => (runs.length > 1 ? `${r.label}: ${n}` : n)))
  return notes.length === 0 ? '' : `<section id="notes"><h2>Notes</h2><ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></section>`
}

const STYLE = `
body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}h3{font-size:15px}
.sub{color:#555;margin-top:0}.note{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#f4f4f4}table.numbers td{text-align:right;font-variant-numeric:tabular-nums}
figure.chart{margin:16px 0;overflow-x:auto}figure.chart svg{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;overflow-x:auto;font-size:12px}summary{cursor:pointer;font-size:14px}
`

/** The report page of the runs, with their drawn charts. */
/**
 * A table the report opens with, before its runs: a sweep's trials, best first (`rxtrain sweep`
 * reports the best few trials' runs under the table of all of them).
 */
export interface LeadTable {
  readonly title: string
  readonly note: string
  /** The first row is the header. */
  readonly cells: readonly (readonly string[])[]
}

const leadSection = (lead: LeadTable | undefined): string => {
  if (lead === undefined) return ''
  const [head = [], ...rows] = lead.cells
  return `<section><h2>${escapeHtml(lead.title)}</h2><p class="sub">${escapeHtml(lead.note)}</p>${table(head, rows)}</section>`
}

export const reportHtml = (runs: readonly RunData[], charts: readonly DrawnChart[], generatedAt: string, lead?: LeadTable): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`rxtrain report: ${lead?.title ?? runs.map((r) => r.label).join(', ')}`)}</title><style>${STYLE}</style></head>
<body><h1>rxtrain ${lead === undefined ? 'run' : 'sweep'} report</h1><p class="sub">${runs.map((r) => `<code>${escapeHtml(r.dir)}</code>`).join(', ')} · made ${escapeHtml(generatedAt)}</p>
${leadSection(lead)}${summarySection(runs)}${metricsSection(runs)}${chartsSection(charts)}${checkpointsSection(runs)}${profilerSection(runs)}${configSection(runs)}${notesSection(runs)}
</body></html>
`
