/** rxtrain's backends. `tensorflow-gpu` is tfjs's `tensorflow` engine backend loaded from the GPU package. */
export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow' | 'tensorflow-gpu'
