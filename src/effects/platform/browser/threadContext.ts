/** A page's script always runs as the main thread (rxtrain starts no web workers). */
export const threadContext: { readonly isMainThread: boolean; readonly workerData: unknown; readonly postToMain: (message: unknown) => void } = {
  isMainThread: true,
  workerData: undefined,
  postToMain: () => undefined,
}
