import { existsSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { isMissingPackage } from '../../../backends/optionalPeer.js'
import { isSoftwareAdapter, type WebGpuAdapterInfo, type WebGpuSetup, type WebGpuUnavailable } from '../../../backends/webgpuAdapter.js'
import { messageOf } from '../../../errors/rxtrainError.js'

/**
 * WebGPU in Node: Dawn (the `webgpu` package) finds the adapter, and tfjs's WebGPUBackend class
 * (`@tensorflow/tfjs-backend-webgpu`) is registered on the device found here, since tfjs's own
 * factory asks `navigator.gpu` for a core-level adapter, which Node does not have.
 */

// The few WebGPU types touched here (the full ones live in @webgpu/types, kept out of the project's global types).
interface Device {
  destroy(): void
}
interface Adapter {
  readonly info: WebGpuAdapterInfo
  readonly limits: Record<string, number>
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<Device>
}
interface Gpu {
  requestAdapter(options?: { featureLevel?: 'core' | 'compatibility'; powerPreference?: 'high-performance' | 'low-power' }): Promise<Adapter | null>
}
interface DawnModule {
  create(options: string[]): Gpu
  globals: object
}

/** The Mesa packages that give Dawn an OpenGL ES adapter (llvmpipe) on a machine without a GPU. */
export const MESA_PACKAGES = 'libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri'

/** Limits tfjs's kernels benefit from: the adapter's own, asked for explicitly (defaults are lower). */
const wantedLimits = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
]

/** Whether the Vulkan loader can be found (Dawn's Vulkan backend needs it; without it, it prints a warning). */
const hasVulkanLoader = (): boolean => {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d !== ''), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu']
  return process.platform !== 'linux' || dirs.some((d) => existsSync(`${d}/libvulkan.so.1`))
}

interface AdapterChoice {
  readonly gpu: Gpu
  readonly adapter: Adapter
  readonly dawnBackend: 'vulkan' | 'opengles' | 'default'
  readonly software: boolean
}

/**
 * Finds an adapter: a hardware one through Dawn's Vulkan backend (Linux) or its default one
 * (elsewhere) first; then, when `allowSoftware`, Mesa's llvmpipe through OpenGL ES at WebGPU's
 * compatibility level (a core-level adapter does not exist there). Throws a sentence saying what
 * was missing.
 */
const findAdapter = async (dawn: DawnModule, allowSoftware: boolean): Promise<AdapterChoice> => {
  const reasons: string[] = []
  const linux = process.platform === 'linux'
  if (!linux || hasVulkanLoader()) {
    const gpu = dawn.create(linux ? ['backend=vulkan'] : [])
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
    if (adapter !== null && (!isSoftwareAdapter(adapter.info) || allowSoftware)) return { gpu, adapter, dawnBackend: linux ? 'vulkan' : 'default', software: isSoftwareAdapter(adapter.info) }
    reasons.push(adapter === null ? 'Vulkan has no adapter (no GPU driver)' : `the Vulkan adapter is a software one (${adapter.info.device})`)
  } else reasons.push('no Vulkan loader (libvulkan.so.1) is installed')
  if (allowSoftware && linux) {
    // EGL needs no display for off-screen work; Dawn reads this when it opens EGL.
    process.env.EGL_PLATFORM ??= 'surfaceless'
    const gpu = dawn.create(['backend=opengles'])
    const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' })
    if (adapter !== null) return { gpu, adapter, dawnBackend: 'opengles', software: isSoftwareAdapter(adapter.info) }
    reasons.push(`OpenGL ES has no adapter (on a machine without a GPU, install Mesa: apt-get install ${MESA_PACKAGES})`)
  } else if (!allowSoftware) reasons.push("software adapters were not tried (accelerator: 'webgpu' tries Mesa's llvmpipe)")
  throw new Error(`no WebGPU adapter: ${reasons.join('; ')}`)
}

/** The packages the webgpu backend loads on first use (optional peers of rxtrain). */
const WEBGPU_PEERS = ['webgpu', '@tensorflow/tfjs-backend-webgpu'] as const

const unavailable = (problem: string, remedy: string): E.Either<WebGpuUnavailable, WebGpuSetup> => E.left({ problem, remedy })

/**
 * Loads Dawn and tfjs's WebGPU kernels, finds an adapter (a hardware one only, unless
 * `allowSoftware`), opens a device on it and registers tfjs's `'webgpu'` backend factory on
 * that device. Called once per process.
 */
export const prepareWebGpu = async (allowSoftware: boolean): Promise<E.Either<WebGpuUnavailable, WebGpuSetup>> => {
  // Without a Vulkan loader there is no hardware adapter to find: do not even load Dawn.
  if (!allowSoftware && process.platform === 'linux' && !hasVulkanLoader())
    return unavailable('no GPU: no Vulkan loader (libvulkan.so.1) is installed', "install the GPU's Vulkan driver, or choose accelerator: 'webgpu' to run on a software adapter.")
  let dawn: DawnModule
  let WebGPUBackend: new (device: Device, info: WebGpuAdapterInfo) => tf.KernelBackend
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule
    ;({ WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: typeof WebGPUBackend })
  } catch (e) {
    // Both are optional peers: a default install has neither (Dawn alone is 132 MB).
    const missing = WEBGPU_PEERS.filter((pkg) => isMissingPackage(e, pkg))
    if (missing.length > 0)
      return unavailable(
        `the webgpu backend needs the optional packages ${WEBGPU_PEERS.join(' and ')}, and ${missing.join(', ')} is not installed`,
        `add them: \`npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@${tf.version_core}\`, or choose accelerator: 'wasm'.`,
      )
    return unavailable(`the webgpu backend's packages could not be loaded: ${messageOf(e)}`, "reinstall them (`npm install webgpu @tensorflow/tfjs-backend-webgpu`), or choose accelerator: 'wasm'.")
  }
  // tfjs's WebGPU kernels use the WebGPU constants (GPUBufferUsage, ...) as globals.
  Object.assign(globalThis, dawn.globals)
  let choice: AdapterChoice
  let device: Device
  try {
    choice = await findAdapter(dawn, allowSoftware)
    const limits = choice.adapter.limits
    device = await choice.adapter.requestDevice({ requiredLimits: Object.fromEntries(wantedLimits.filter((k) => typeof limits[k] === 'number').map((k) => [k, limits[k] as number])) })
  } catch (e) {
    return unavailable(`the webgpu backend found no usable GPU: ${messageOf(e)}`, "run on a machine with a GPU and its Vulkan driver, or choose accelerator: 'wasm'.")
  }
  // tfjs's WebGPU backend checks that navigator.gpu exists (Node 20 has no navigator).
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown }
  if (nav.gpu === undefined) Object.defineProperty(nav, 'gpu', { value: choice.gpu, configurable: true })
  // Dawn aborts the process if a device is still alive when Node exits.
  process.once('exit', () => device.destroy())
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu')
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, choice.adapter.info), 1)
  return E.right({ where: `Dawn ${choice.dawnBackend}`, software: choice.software, info: choice.adapter.info, release: () => device.destroy() })
}
