import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * Starts a worker thread: the compiled worker next to this file, or, when rxtrain runs from its
 * TypeScript sources (development, tests), the source worker through tsx's loader, which a
 * worker thread has to register itself.
 */
export const startWorker = (): Worker => {
  const self = import.meta.url
  if (!self.endsWith('.ts')) return new Worker(new URL('./ddpWorker.js', self))
  // tsx's ESM API (its package `exports` maps 'tsx/esm/api' to this file for `import`).
  const tsx = pathToFileURL(join(dirname(createRequire(self).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href
  const source = new URL('./ddpWorker.ts', self).href
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}) })`, { eval: true })
}
