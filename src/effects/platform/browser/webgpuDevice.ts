import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { adapterInfoOf, adapterName, isSoftwareAdapter, type WebGpuAdapterInfo, type WebGpuSetup, type WebGpuUnavailable } from '../../../backends/webgpuAdapter.js'
import { messageOf } from '../../../errors/rxtrainError.js'

/**
 * WebGPU in a browser: the page's own `navigator.gpu`, and tfjs's WebGPU kernels, which the page
 * imports itself (`import '@tensorflow/tfjs-backend-webgpu'`): that import registers tfjs's
 * `'webgpu'` backend factory, which opens its device on `navigator.gpu`. rxtrain does not import
 * the package statically (an optional peer: a page that trains on wasm must bundle without it),
 * and a bundler cannot see a dynamic import of a name held in a variable, so without the page's
 * import the factory is missing and the backend says so.
 */

// The few WebGPU types touched here (the full ones live in @webgpu/types).
type Info = Partial<WebGpuAdapterInfo> & { readonly isFallbackAdapter?: boolean }
interface Adapter {
  readonly info?: Info
  requestAdapterInfo?(): Promise<Info>
  /** Where a browser has it: an adapter that may be slow (a software one, in practice). */
  readonly isFallbackAdapter?: boolean
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<Adapter | null>
}

/** The package the page imports; held in a variable so that bundlers leave it alone. */
const kernelsPackage: string = '@tensorflow/tfjs-backend-webgpu'

const unavailable = (problem: string, remedy: string): E.Either<WebGpuUnavailable, WebGpuSetup> => E.left({ problem, remedy })

/**
 * Checks that the page has WebGPU and tfjs's WebGPU kernels, and finds the adapter tfjs's factory
 * will use (the high-performance one, as tfjs asks for) to say what it is, refusing a software
 * one (SwiftShader) unless `allowSoftware`.
 */
export const prepareWebGpu = (allowSoftware: boolean): Promise<E.Either<WebGpuUnavailable, WebGpuSetup>> =>
  prepareWebGpuWith(allowSoftware, () => import(/* @vite-ignore */ kernelsPackage))

/** As `prepareWebGpu`, with the import of tfjs's WebGPU kernels replaceable (tests). */
export const prepareWebGpuWith = async (allowSoftware: boolean, importKernels: () => Promise<unknown>): Promise<E.Either<WebGpuUnavailable, WebGpuSetup>> => {
  const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu
  if (gpu === undefined)
    return unavailable(
      'this browser offers no WebGPU (navigator.gpu is undefined)',
      "open the page in a browser with WebGPU enabled (Chrome or Edge 113+, over https or on localhost), or choose accelerator: 'wasm'.",
    )
  if (tf.findBackendFactory('webgpu') === null)
    try {
      // Where an import map names the package, this loads it (its import registers the factory).
      await importKernels()
    } catch {
      // Reported just below, with the remedy.
    }
  if (tf.findBackendFactory('webgpu') === null)
    return unavailable(
      "tfjs's WebGPU kernels are not loaded: the page has not imported @tensorflow/tfjs-backend-webgpu",
      `add \`import '@tensorflow/tfjs-backend-webgpu'\` (version ${tf.version_core}) to the page's script, bundled with rxtrain, or choose accelerator: 'wasm'.`,
    )
  let adapter: Adapter | null
  let raw: Info | undefined
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
    raw = adapter === null ? undefined : (adapter.info ?? (await adapter.requestAdapterInfo?.()))
  } catch (e) {
    return unavailable(`the browser's WebGPU failed to give an adapter: ${messageOf(e)}`, "choose accelerator: 'wasm'.")
  }
  if (adapter === null) return unavailable('the browser offers no WebGPU adapter (its GPU or driver is blocked or missing)', "enable the GPU in the browser's settings, or choose accelerator: 'wasm'.")
  const info = adapterInfoOf(raw)
  // Chromium's SwiftShader: vendor 'google', architecture 'swiftshader', a fallback adapter.
  const software = isSoftwareAdapter(info) || raw?.isFallbackAdapter === true || adapter.isFallbackAdapter === true
  if (software && !allowSoftware) return unavailable(`its only adapter is a software one (${adapterName(info)})`, "choose accelerator: 'webgpu' to use it anyway.")
  return E.right({ where: 'browser', software, info, release: () => undefined })
}
