import { axisTitleOf, confusionCell, groupRank, metricRole, scaleTypeOf, slug } from './metricNames.js'
import type { LrFinderCurve, RunData } from './runData.js'

/**
 * The report's charts as Vega-Lite specs: pure functions of the runs' data, so that tests check
 * what is drawn without drawing it. Each spec carries its data inline (`data.values`), so it
 * renders alone, in Node or in a browser.
 */

/** A Vega-Lite spec as plain JSON (vega-lite's own types are an optional peer's, kept out of the API). */
export type VegaLiteSpec = Readonly<Record<string, unknown>>

export interface Chart {
  /** File-name-safe and unique in one report: the PNG is `<id>.png`. */
  readonly id: string
  readonly title: string
  readonly kind: 'curves' | 'confusion' | 'lrFinder'
  readonly spec: VegaLiteSpec
  /** How many data points it draws (0: the chart would be empty, and is not made). */
  readonly points: number
}

/** The look shared by every chart: the font the PNG renderer is given, a white background. */
export const CHART_FONT = 'DejaVu Sans'
const config = {
  font: CHART_FONT,
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
  view: { stroke: '#ccc' },
} as const

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'
const STEP_TITLE = 'step (optimizer steps)'
const EPOCH_TITLE = 'epoch (from 0)'

/** One drawn value of a curve chart. */
export interface CurveRow {
  readonly run: string
  readonly series: string
  readonly step: number
  readonly epoch: number
  readonly value: number
}

/** A curve chart's data: the rows against step, the rows against epoch, and the values left out. */
export interface CurveData {
  readonly group: string
  readonly byStep: readonly CurveRow[]
  readonly byEpoch: readonly CurveRow[]
  /** Values that cannot be drawn (NaN, ±Infinity, or ≤ 0 on a log scale). */
  readonly dropped: number
}

/**
 * Every logged scalar, grouped by chart (train and validation of one quantity together), in
 * chart order. Against epoch, each line shows its last value in each epoch; a per-step line is
 * left out there when its epoch mean (`<name>_epoch`) is logged too.
 */
export const curveData = (runs: readonly RunData[]): CurveData[] => {
  interface Group {
    readonly byStep: CurveRow[]
    readonly lastInEpoch: Map<string, CurveRow>
    dropped: number
  }
  const groups = new Map<string, Group>()
  const names = new Set(runs.flatMap((r) => r.points.map((p) => `${r.label}\u0000${p.name}`)))
  for (const run of runs)
    for (const p of run.points) {
      if (confusionCell(p.name) !== undefined) continue
      const { group, series } = metricRole(p.name)
      const g: Group = groups.get(group) ?? { byStep: [], lastInEpoch: new Map<string, CurveRow>(), dropped: 0 }
      groups.set(group, g)
      const drawable = Number.isFinite(p.value) && (scaleTypeOf(group).type === 'linear' || p.value > 0)
      if (!drawable) {
        g.dropped++
        continue
      }
      const row: CurveRow = { run: run.label, series, step: p.step, epoch: p.epoch, value: p.value }
      g.byStep.push(row)
      const hasEpochTwin = p.name.endsWith('_step') ? true : names.has(`${run.label}\u0000${p.name}_epoch`)
      if (hasEpochTwin) continue
      const key = `${run.label}\u0000${series}\u0000${p.epoch}`
      const prev = g.lastInEpoch.get(key)
      if (prev === undefined || prev.step <= p.step) g.lastInEpoch.set(key, row)
    }
  const byRun = (a: CurveRow, b: CurveRow) => (a.run < b.run ? -1 : a.run > b.run ? 1 : a.series < b.series ? -1 : a.series > b.series ? 1 : 0)
  return [...groups.entries()]
    .sort(([a], [b]) => groupRank(a) - groupRank(b) || a.localeCompare(b))
    .map(([group, g]) => ({
      group,
      byStep: [...g.byStep].sort((a, b) => byRun(a, b) || a.step - b.step),
      byEpoch: [...g.lastInEpoch.values()].sort((a, b) => byRun(a, b) || a.epoch - b.epoch),
      dropped: g.dropped,
    }))
}

/** Colour: the series for one run; the run for several (the legend names the runs), the series then told by the dash. */
const colorEncoding = (multiRun: boolean) => ({ color: { field: multiRun ? 'run' : 'series', type: 'nominal', title: multiRun ? 'run' : 'series' } })

const maxLineLength = (rows: readonly CurveRow[]): number => {
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(`${r.run}\u0000${r.series}`, (counts.get(`${r.run}\u0000${r.series}`) ?? 0) + 1)
  return Math.max(0, ...counts.values())
}

const TOOLTIP = [
  { field: 'run', type: 'nominal' },
  { field: 'series', type: 'nominal' },
  { field: 'step', type: 'quantitative' },
  { field: 'epoch', type: 'quantitative' },
  { field: 'value', type: 'quantitative', format: '.6g' },
]

const panel = (rows: readonly CurveRow[], x: 'step' | 'epoch', group: string, multiRun: boolean, width: number) => {
  const scale = scaleTypeOf(group)
  // The line carries the dash (so the dash legend shows dashes); points sit in their own layer,
  // drawn when lines are short, so that a single value (one validation) still shows.
  const line = {
    mark: { type: 'line', strokeWidth: 1.8, clip: true },
    encoding: multiRun
      ? { strokeDash: { field: 'series', type: 'nominal', title: 'series', legend: { symbolType: 'stroke', symbolStrokeColor: '#444', symbolStrokeWidth: 2, symbolSize: 400 } } }
      : {},
  }
  const points = { mark: { type: 'point', filled: true, size: 30, opacity: 1, clip: true }, encoding: { tooltip: TOOLTIP } }
  return {
    width,
    height: 240,
    data: { values: rows },
    encoding: {
      x: {
        field: x,
        type: 'quantitative',
        title: x === 'step' ? STEP_TITLE : EPOCH_TITLE,
        // A few pixels of room at both ends, so that the first and last points are not cut in half.
        scale: { zero: false, nice: false, padding: 8 },
        axis: x === 'epoch' ? { tickMinStep: 1, format: 'd' } : { format: ',d', tickMinStep: 1 },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: axisTitleOf(group),
        scale: scale.type === 'log' ? { type: 'log', base: scale.base } : { zero: false },
        axis: scale.type === 'log' ? { format: '.1e', tickCount: 5 } : { format: '~g' },
      },
      ...colorEncoding(multiRun),
    },
    layer: maxLineLength(rows) <= 30 ? [line, points] : [line],
  }
}

/** A curve chart: against step (left) and against epoch (right), sharing the y scale and the legend. */
export const curveSpec = (d: CurveData, multiRun: boolean): VegaLiteSpec => {
  const subtitle = d.dropped > 0 ? [`${d.dropped} value(s) not drawn (NaN, infinite${scaleTypeOf(d.group).type === 'log' ? ', or ≤ 0 on the log scale' : ''})`] : []
  const title = { text: d.group, ...(subtitle.length > 0 && { subtitle }) }
  const step = panel(d.byStep, 'step', d.group, multiRun, d.byEpoch.length > 0 ? 420 : 600)
  if (d.byEpoch.length === 0) return { $schema: SCHEMA, title, config, ...step }
  return {
    $schema: SCHEMA,
    title,
    config,
    hconcat: [step, panel(d.byEpoch, 'epoch', d.group, multiRun, 240)],
    resolve: { scale: { y: 'shared', color: 'shared', strokeDash: 'shared' }, legend: { color: 'shared', strokeDash: 'shared' } },
  }
}

/** One logged confusion matrix: its last value of each cell (the last validation or test). */
export interface ConfusionData {
  readonly run: string
  readonly matrix: string
  readonly step: number
  readonly cells: readonly { readonly actual: string; readonly predicted: string; readonly value: number }[]
}

export const confusionData = (runs: readonly RunData[]): ConfusionData[] => {
  const out: ConfusionData[] = []
  for (const run of runs) {
    const matrices = new Map<string, Map<string, { actual: string; predicted: string; value: number; step: number }>>()
    for (const p of run.points) {
      const c = confusionCell(p.name)
      if (c === undefined || !Number.isFinite(p.value)) continue
      const m = matrices.get(c.matrix) ?? new Map<string, { actual: string; predicted: string; value: number; step: number }>()
      matrices.set(c.matrix, m)
      const key = `${c.actual}\u0000${c.predicted}`
      const prev = m.get(key)
      if (prev === undefined || prev.step <= p.step) m.set(key, { actual: c.actual, predicted: c.predicted, value: p.value, step: p.step })
    }
    for (const [matrix, m] of matrices) {
      const cells = [...m.values()]
      out.push({ run: run.label, matrix, step: Math.max(...cells.map((c) => c.step)), cells: cells.map(({ actual, predicted, value }) => ({ actual, predicted, value })) })
    }
  }
  return out
}

/** Class labels in order: numerically when they are numbers (`2` before `10`). */
const classOrder = (labels: Iterable<string>): string[] =>
  [...new Set(labels)].sort((a, b) => (/^-?\d+$/.test(a) && /^-?\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b)))

/** A confusion matrix as a heat map: actual class down, predicted class across, the count in each cell. */
export const confusionSpec = (d: ConfusionData, multiRun: boolean): VegaLiteSpec => {
  const order = classOrder(d.cells.flatMap((c) => [c.actual, c.predicted]))
  const side = Math.min(520, Math.max(160, order.length * 34))
  const max = Math.max(0, ...d.cells.map((c) => c.value))
  const integral = d.cells.every((c) => Number.isInteger(c.value))
  return {
    $schema: SCHEMA,
    title: { text: `confusion matrix${d.matrix === '' ? '' : ` (${d.matrix})`}${multiRun ? ` — ${d.run}` : ''}`, subtitle: [`last logged, at step ${d.step}`] },
    config,
    width: side,
    height: side,
    data: { values: d.cells },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: order, title: 'predicted class', axis: { labelAngle: 0, orient: 'top' } },
      y: { field: 'actual', type: 'ordinal', sort: order, title: 'actual class' },
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: { field: 'value', type: 'quantitative', title: integral ? 'examples' : 'fraction', scale: { scheme: 'blues' } },
          tooltip: [{ field: 'actual' }, { field: 'predicted' }, { field: 'value', type: 'quantitative' }],
        },
      },
      ...(order.length <= 20
        ? [
            {
              mark: { type: 'text', fontSize: order.length > 12 ? 8 : 10 },
              encoding: {
                text: { field: 'value', type: 'quantitative', format: integral ? 'd' : '.2f' },
                color: { condition: { test: `datum.value > ${max / 2}`, value: 'white' }, value: 'black' },
              },
            },
          ]
        : []),
    ],
  }
}

/** The learning-rate range test: loss against learning rate (log scale), with the suggestion marked. */
export const lrFinderSpec = (curve: LrFinderCurve, run: string, multiRun: boolean): VegaLiteSpec => {
  const points = curve.points.filter((p) => p.lr > 0 && Number.isFinite(p.lr) && Number.isFinite(p.loss))
  const line = {
    data: { values: points },
    mark: { type: 'line', point: points.length <= 40 },
    encoding: {
      x: { field: 'lr', type: 'quantitative', title: 'learning rate (log scale)', scale: { type: 'log' }, axis: { format: '.0e' } },
      y: { field: 'loss', type: 'quantitative', title: 'loss (mean per example)', scale: { zero: false } },
    },
  }
  const s = curve.suggestion
  const rule =
    s === undefined || !(s > 0)
      ? []
      : [
          { data: { values: [{ lr: s }] }, mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] }, encoding: { x: { field: 'lr', type: 'quantitative' } } },
          {
            data: { values: [{ lr: s, label: `suggested ${s.toExponential(2)}` }] },
            mark: { type: 'text', color: '#d62728', align: 'left', dx: 4, baseline: 'top', y: 4 },
            encoding: { x: { field: 'lr', type: 'quantitative' }, text: { field: 'label' } },
          },
        ]
  return { $schema: SCHEMA, title: { text: `learning-rate finder${multiRun ? ` — ${run}` : ''}` }, config, width: 520, height: 260, layer: [line, ...rule] }
}

/** Every chart of a report, in order: curves, then confusion matrices, then lr-finder curves. Charts with nothing to draw are left out. */
export const reportCharts = (runs: readonly RunData[]): Chart[] => {
  const multiRun = runs.length > 1
  const charts: Omit<Chart, 'id'>[] = [
    ...curveData(runs)
      .filter((d) => d.byStep.length > 0)
      .map((d) => ({ title: d.group, kind: 'curves' as const, spec: curveSpec(d, multiRun), points: d.byStep.length + d.byEpoch.length })),
    ...confusionData(runs).map((d) => ({
      title: `confusion ${d.matrix}${multiRun ? ` ${d.run}` : ''}`,
      kind: 'confusion' as const,
      spec: confusionSpec(d, multiRun),
      points: d.cells.length,
    })),
    ...runs.flatMap((r) =>
      r.lrFinder === undefined || r.lrFinder.points.length === 0
        ? []
        : [{ title: `lr finder${multiRun ? ` ${r.label}` : ''}`, kind: 'lrFinder' as const, spec: lrFinderSpec(r.lrFinder, r.label, multiRun), points: r.lrFinder.points.length }],
    ),
  ]
  const used = new Set<string>()
  return charts.map((c, i) => {
    let id = `${String(i + 1).padStart(2, '0')}-${slug(c.title)}`
    while (used.has(id)) id += '_'
    used.add(id)
    return { ...c, id }
  })
}
