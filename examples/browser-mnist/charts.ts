/**
 * The page's live charts: the run report's Vega-Lite specs (src/report/chartSpecs.ts) drawn from
 * the run's own metrics.jsonl, read back from the page's file system. So the page shows exactly
 * what the logger wrote, and a reloaded page shows the history of the run it resumes.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as vega from 'vega'
import { compile } from 'vega-lite'
import type { FileSystem } from '../../src/effects/fileSystem.js'
import { curveData, curveSpec, type VegaLiteSpec } from '../../src/report/chartSpecs.js'
import { parseMetricsJsonl } from '../../src/report/metricsFiles.js'

/** The charts drawn, in this order: one figure each. */
const GROUPS = ['loss', 'acc'] as const

/** The report's panels (420 + 240 px) made to fit beside the digit pad: 380 + 190. */
const narrower = (spec: VegaLiteSpec): VegaLiteSpec => {
  const panels = spec.hconcat
  if (!Array.isArray(panels)) return { ...spec, width: 600 }
  return { ...spec, hconcat: panels.map((p: Record<string, unknown>, i) => ({ ...p, width: i === 0 ? 380 : 190 })) }
}

export interface Charts {
  /** Redraws from the file, at most about once a second unless `now`. */
  refresh(now?: boolean): Promise<void>
  /** Empties the charts (a new run). */
  reset(): void
}

export const createCharts = (container: HTMLElement, fs: FileSystem, file: string): Charts => {
  const figures = new Map<string, HTMLElement>(
    GROUPS.map((g) => {
      const figure = document.createElement('figure')
      figure.className = 'chart'
      figure.id = `chart-${g}`
      figure.dataset.group = g
      figure.innerHTML = `<figcaption>${g === 'loss' ? 'loss' : 'accuracy'}: waiting for the first logged values…</figcaption>`
      container.append(figure)
      return [g, figure] as const
    }),
  )
  const views = new Map<string, vega.View>()
  let drawnText = ''
  let lastDraw = 0
  let pending: Promise<void> | undefined
  let queued = false

  const draw = async (): Promise<void> => {
    const text = await fs.readText(file)()
    if (E.isLeft(text) || text.right === drawnText) return
    drawnText = text.right
    const { points } = parseMetricsJsonl(text.right)
    const run = { dir: file, label: 'browser-mnist', points, checkpoints: [], notes: [] }
    for (const d of curveData([run])) {
      const figure = figures.get(d.group)
      if (figure === undefined || d.byStep.length === 0) continue
      const spec = compile(narrower(curveSpec(d, false)) as unknown as Parameters<typeof compile>[0]).spec
      views.get(d.group)?.finalize()
      figure.replaceChildren()
      const view = new vega.View(vega.parse(spec), { renderer: 'svg', container: figure, hover: true })
      views.set(d.group, view)
      await view.runAsync()
    }
  }

  const refresh = (now = false): Promise<void> => {
    if (pending !== undefined) {
      queued = true
      return pending
    }
    const wait = now ? 0 : Math.max(0, lastDraw + 1000 - Date.now())
    pending = new Promise<void>((resolve) => setTimeout(resolve, wait))
      .then(draw)
      .catch((e: unknown) => console.warn('charts: could not draw', e))
      .finally(() => {
        lastDraw = Date.now()
        pending = undefined
        if (queued) {
          queued = false
          void refresh()
        }
      })
    return pending
  }

  return {
    refresh,
    reset: () => {
      drawnText = ''
      for (const v of views.values()) v.finalize()
      views.clear()
      for (const [g, f] of figures) f.innerHTML = `<figcaption>${g === 'loss' ? 'loss' : 'accuracy'}: waiting for the first logged values…</figcaption>`
    },
  }
}
