import { isMainThread, parentPort, workerData } from 'node:worker_threads'

/** What a thread knows about itself: whether it is the main one, its `workerData`, and its way to the main thread. */
export const threadContext: { readonly isMainThread: boolean; readonly workerData: unknown; readonly postToMain: (message: unknown) => void } = {
  isMainThread,
  workerData,
  postToMain: (message) => parentPort?.postMessage(message),
}
