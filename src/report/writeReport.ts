import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { Clock } from '../effects/clock.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { type Chart, reportCharts } from './chartSpecs.js'
import { readRun, runLabels } from './readRun.js'
import { type DrawnChart, type LeadTable, reportHtml } from './reportHtml.js'
import { type ChartRenderer, loadChartRenderer, prefixSvgIds } from './renderCharts.js'
import type { RunData } from './runData.js'

/** What `writeReport` needs: the run folders (the first is the default home of the report) and the effects. */
export interface ReportRequest {
  readonly runs: readonly string[]
  /** The report's folder. Default: `<first run>/report`. */
  readonly out?: string
  readonly fs: FileSystem
  readonly clock: Clock
  /** Default: vega, vega-lite and resvg, loaded on demand. */
  readonly renderer?: ChartRenderer
  /** A table before the runs (a sweep's trials). */
  readonly lead?: LeadTable
}

export interface ReportWritten {
  readonly dir: string
  readonly html: string
  /** The PNG files, one per chart, in the report's order. */
  readonly pngs: readonly string[]
  readonly charts: readonly Chart[]
  readonly runs: readonly RunData[]
}

const chartFailed = (chart: Chart, cause: unknown): RxtrainError<'StepError'> =>
  rxtrainError('StepError', `the chart ${chart.title} could not be drawn: ${messageOf(cause)}`, 'this is a bug in rxtrain\'s report: please file an issue with the run folder\'s metrics file.', { chart: chart.id })

/**
 * Reads the runs, draws every chart to SVG and PNG, and writes `report.html` (charts inlined)
 * with the PNGs beside it. Fails before writing anything when a folder is not a run or the
 * drawing packages are missing.
 */
export const writeReport =
  (request: ReportRequest): TE.TaskEither<RxtrainError, ReportWritten> =>
  async () => {
    const { fs } = request
    if (request.runs.length === 0) return E.left(rxtrainError('ConfigError', 'no run folder was given', 'name one or more run folders, e.g. rxtrain report runs/mnist-mlp/version_0.'))
    const labels = runLabels(request.runs)
    const runs: RunData[] = []
    for (const [i, dir] of request.runs.entries()) {
      const run = await readRun(fs, dir, labels[i])()
      if (E.isLeft(run)) return run
      runs.push(run.right)
    }
    let renderer = request.renderer
    if (renderer === undefined) {
      const loaded = await loadChartRenderer()()
      if (E.isLeft(loaded)) return loaded
      renderer = loaded.right
    }
    const charts = reportCharts(runs)
    const drawn: DrawnChart[] = []
    const pngs: [string, Uint8Array][] = []
    for (const chart of charts) {
      try {
        const svg = await renderer.svg(chart.spec)
        const png = `${chart.id}.png`
        pngs.push([png, renderer.png(svg)])
        drawn.push({ chart, svg: prefixSvgIds(svg, `c${chart.id.replace(/[^A-Za-z0-9_-]/g, '_')}-`), png })
      } catch (e) {
        return E.left(chartFailed(chart, e))
      }
    }
    const dir = request.out ?? `${request.runs[0] as string}/report`
    const mkdir = await fs.mkdir(dir)()
    if (E.isLeft(mkdir)) return mkdir
    const written: string[] = []
    for (const [name, bytes] of pngs) {
      const w = await fs.writeFileAtomic(`${dir}/${name}`, bytes)()
      if (E.isLeft(w)) return w
      written.push(`${dir}/${name}`)
    }
    const html = `${dir}/report.html`
    const w = await fs.writeFileAtomic(html, reportHtml(runs, drawn, new Date(request.clock.now()).toISOString(), request.lead))()
    if (E.isLeft(w)) return w
    return E.right({ dir, html, pngs: written, charts, runs })
  }
