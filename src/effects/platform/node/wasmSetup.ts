/**
 * Settings for tfjs-backend-wasm before it starts, per platform. In Node there are none: its
 * Node build is single-threaded already, and it finds its .wasm files beside its own code.
 */
export const setupWasm = (): void => undefined

/** What to do when the wasm backend does not start in Node. */
export const wasmFailureRemedy = "reinstall dependencies with `npm ci` (tfjs-backend-wasm's .wasm files sit in its dist folder), or choose accelerator: 'cpu'."
