import * as tf from '@tensorflow/tfjs-core'

/**
 * Settings for tfjs-backend-wasm before it starts, in a browser. It is forced to its
 * single-threaded SIMD build: on a cross-origin-isolated page tfjs would otherwise pick the
 * threaded one, whose XNNPACK splits work across threads and sums in another order, so results
 * would no longer be bitwise Node's (and rxtrain's own wasm kernels stand aside on shared
 * memory). Where the .wasm files are served is the page's choice: it calls the package's
 * `setWasmPaths` itself. Must run after the package is imported (that registers the flag) and
 * before the backend starts.
 */
export const setupWasm = (): void => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
}

/** What to do when the wasm backend does not start in a page: most often its .wasm files were not where tfjs looked. */
export const wasmFailureRemedy =
  "serve tfjs-backend-wasm's .wasm files (node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm) with the page and call that package's setWasmPaths('<their folder URL>/') before the run, or choose accelerator: 'cpu'."
