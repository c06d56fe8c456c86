import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * Starts a worker thread on `script` with `workerData`. A compiled script (`.js`) runs as it is;
 * a TypeScript one (rxtrain run from its sources: development, tests) runs through tsx's loader,
 * which a worker thread has to register itself.
 */
export const startWorker = (script: URL, workerData: unknown): Worker => {
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { workerData })
  // tsx's ESM API (its package `exports` maps 'tsx/esm/api' to this file for `import`).
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(script.href)}) })`, { eval: true, workerData })
}
