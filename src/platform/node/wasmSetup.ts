/**
 * Settings for tfjs-backend-wasm before it starts, per platform. In Node there are none: its
 * Node build is single-threaded already, and it finds its .wasm files beside its own code.
 */
export const setupWasm = (): void => undefined
