import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { ddpWorkerData } from './workerContext.js'

/**
 * Starts a worker thread: the compiled worker next to this file, or, when rxtrain runs from its
 * TypeScript sources (development, tests), the source worker through tsx's loader, which a
 * worker thread has to register itself. Its `workerData` marks it as the worker of `rank`, so
 * that `fit` called in it (by the module's file, when the worker imports it) fails at once.
 */
export const startWorker = (rank: number): Worker => {
  const self = import.meta.url
  const workerData = ddpWorkerData(rank)
  if (!self.endsWith('.ts')) return new Worker(new URL('./ddpWorker.js', self), { workerData })
  // tsx's ESM API (its package `exports` maps 'tsx/esm/api' to this file for `import`).
  const tsx = pathToFileURL(join(dirname(createRequire(self).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href
  const source = new URL('./ddpWorker.ts', self).href
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}) })`, { eval: true, workerData })
}
