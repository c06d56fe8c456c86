/**
 * rxtrain's backends. `tensorflow-gpu` is tfjs's `tensorflow` engine backend loaded from the GPU package.
 *
 * @example
 * for (const name of ['cpu', 'wasm'] satisfies BackendName[]) {
 *   const started = await startBackend(name)()
 *   console.log(name, E.isRight(started) ? started.right.description : started.left.problem)
 * }
 */
export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow' | 'tensorflow-gpu'
