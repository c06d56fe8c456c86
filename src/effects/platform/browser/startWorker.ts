import type { Worker } from 'node:worker_threads'
import { rxtrainError } from '../../../errors/rxtrainError.js'

/** A page has no worker threads of Node's kind: `strategy: 'ddp'` is refused with what to do instead. */
export const startWorker = (_script: URL, _workerData: unknown): Worker => {
  throw rxtrainError(
    'ConfigError',
    "strategy 'ddp' runs its ranks in Node worker threads, which a browser does not have",
    "train with strategy: 'auto' in the page (accelerator 'webgpu' uses the GPU), or run the same module with DDP in Node.",
    { field: 'strategy' },
  )
}
