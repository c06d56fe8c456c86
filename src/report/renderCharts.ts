import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { CHART_FONT, type VegaLiteSpec } from './chartSpecs.js'

/**
 * Draws Vega-Lite specs headless: vega-lite compiles a spec to Vega, vega renders it to SVG
 * (no browser, no canvas), and resvg turns the SVG into a PNG. All three are optional peers of
 * rxtrain, loaded here on demand, so that training never pays for them.
 */
export interface ChartRenderer {
  readonly svg: (spec: VegaLiteSpec) => Promise<string>
  readonly png: (svg: string) => Uint8Array
}

/** The packages the report draws with (optional peers: `npm install --save-dev vega vega-lite @resvg/resvg-js`). */
export const RENDER_PACKAGES = ['vega', 'vega-lite', '@resvg/resvg-js'] as const

const missingPackages = (names: readonly string[], cause: string): RxtrainError<'ConfigError'> =>
  rxtrainError(
    'ConfigError',
    `the run report draws its charts with ${RENDER_PACKAGES.join(', ')}; ${names.join(', ')} could not be loaded (${cause})`,
    `install them beside rxtrain: npm install --save-dev ${RENDER_PACKAGES.join(' ')}`,
    { packages: names },
  )

/** Loads the renderer's packages, or says which are missing and how to install them. */
export const loadChartRenderer = (options: { readonly scale?: number } = {}): TE.TaskEither<RxtrainError<'ConfigError'>, ChartRenderer> => async () => {
  const tries = await Promise.allSettled([import('vega'), import('vega-lite'), import('@resvg/resvg-js')])
  const failed = tries.flatMap((t, i) => (t.status === 'rejected' ? [[RENDER_PACKAGES[i] as string, messageOf(t.reason).split('\n')[0] ?? ''] as const] : []))
  if (failed.length > 0 || tries[0].status !== 'fulfilled' || tries[1].status !== 'fulfilled' || tries[2].status !== 'fulfilled')
    return E.left(missingPackages(failed.map(([n]) => n), failed.map(([, why]) => why).join('; ')))
  const vega = tries[0].value
  const vegaLite = tries[1].value
  const { Resvg } = tries[2].value
  const scale = options.scale ?? 2
  return E.right({
    svg: async (spec) => {
      const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec
      const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
      try {
        return await view.toSVG()
      } finally {
        view.finalize()
      }
    },
    // The system's fonts (DejaVu on Debian), with the charts' font as the default family.
    png: (svg) =>
      new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT } }).render().asPng(),
  })
}

/**
 * Makes an SVG's ids unique in a page that inlines several: vega names its clip paths `clip1`,
 * `clip2`, ... in every chart, and a second chart's `url(#clip1)` would clip to the first's.
 */
export const prefixSvgIds = (svg: string, prefix: string): string => {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1] as string))
  if (ids.size === 0) return svg
  return svg
    .replace(/(\sid=")([^"]+)"/g, (all, head: string, id: string) => (ids.has(id) ? `${head}${prefix}${id}"` : all))
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${prefix}${id})` : all))
    .replace(/(href=")#([^"]+)"/g, (all, head: string, id: string) => (ids.has(id) ? `${head}#${prefix}${id}"` : all))
}
