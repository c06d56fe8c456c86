import { existsSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend } from './backend.js'
import './gradients.js'
import './webgpuHalf.js'
import { isMissingPackage } from './optionalPeer.js'
import { registerWebGpuAdam, registerWebGpuAdamStep } from './webgpuAdam.js'
import { registerWebGpuDense } from './webgpuDense.js'
import { registerWebGpuCrossEntropy } from './webgpuLoss.js'

// The few WebGPU types rxtrain touches (the full ones live in @webgpu/types, kept out of the
// project's global types).
interface AdapterInfo {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
}
interface Device {
  destroy(): void
  addEventListener?(type: 'uncapturederror', listener: (e: { error: { message: string } }) => void): void
}
interface Adapter {
  readonly info: AdapterInfo
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

/** An adapter that runs on the CPU (Mesa's llvmpipe or lavapipe, SwiftShader). */
export const isSoftwareAdapter = (info: AdapterInfo): boolean => /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.device} ${info.description} ${info.vendor}`)

/** Whether the Vulkan loader can be found (Dawn's Vulkan backend needs it; without it, it prints a warning). */
const hasVulkanLoader = (): boolean => {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d !== ''), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu']
  return process.platform !== 'linux' || dirs.some((d) => existsSync(`${d}/libvulkan.so.1`))
}

export interface WebGpuAdapterChoice {
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
const findAdapter = async (dawn: DawnModule, allowSoftware: boolean): Promise<WebGpuAdapterChoice> => {
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

const describeAdapter = (c: WebGpuAdapterChoice): string => {
  const { info } = c.adapter
  const name = [info.vendor, info.device, info.description].filter((s) => s !== '').join(', ')
  return `webgpu (Dawn ${c.dawnBackend}${c.software ? ', software adapter' : ''}: ${name}; tfjs ${tf.version_core})`
}

type BackendTask = TE.TaskEither<RxtrainError<'BackendError'>, Backend>

const failed = (problem: string, remedy: string): E.Either<RxtrainError<'BackendError'>, Backend> =>
  E.left(rxtrainError('BackendError', problem, remedy, { backend: 'webgpu' }))

/** The packages the webgpu backend loads on first use (optional peers of rxtrain). */
const WEBGPU_PEERS = ['webgpu', '@tensorflow/tfjs-backend-webgpu'] as const

let registered: Promise<E.Either<RxtrainError<'BackendError'>, Backend>> | undefined

const initialise = async (allowSoftware: boolean): Promise<E.Either<RxtrainError<'BackendError'>, Backend>> => {
  // Without a Vulkan loader there is no hardware adapter to find: do not even load Dawn.
  if (!allowSoftware && process.platform === 'linux' && !hasVulkanLoader())
    return failed('no GPU: no Vulkan loader (libvulkan.so.1) is installed', "install the GPU's Vulkan driver, or choose accelerator: 'webgpu' to run on a software adapter.")
  let dawn: DawnModule
  let WebGPUBackend: new (device: Device, info: AdapterInfo) => tf.KernelBackend
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule
    ;({ WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: typeof WebGPUBackend })
  } catch (e) {
    // Both are optional peers: a default install has neither (Dawn alone is 132 MB).
    const missing = WEBGPU_PEERS.filter((pkg) => isMissingPackage(e, pkg))
    if (missing.length > 0)
      return failed(
        `the webgpu backend needs the optional packages ${WEBGPU_PEERS.join(' and ')}, and ${missing.join(', ')} is not installed`,
        `add them: \`npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@${tf.version_core}\`, or choose accelerator: 'wasm'.`,
      )
    return failed(`the webgpu backend's packages could not be loaded: ${messageOf(e)}`, "reinstall them (`npm install webgpu @tensorflow/tfjs-backend-webgpu`), or choose accelerator: 'wasm'.")
  }
  // tfjs's WebGPU kernels use the WebGPU constants (GPUBufferUsage, ...) as globals.
  Object.assign(globalThis, dawn.globals)
  let choice: WebGpuAdapterChoice
  let device: Device
  try {
    choice = await findAdapter(dawn, allowSoftware)
    const limits = choice.adapter.limits
    device = await choice.adapter.requestDevice({ requiredLimits: Object.fromEntries(wantedLimits.filter((k) => typeof limits[k] === 'number').map((k) => [k, limits[k] as number])) })
  } catch (e) {
    return failed(`the webgpu backend found no usable GPU: ${messageOf(e)}`, "run on a machine with a GPU and its Vulkan driver, or choose accelerator: 'wasm'.")
  }
  // tfjs's WebGPU backend checks that navigator.gpu exists (Node 20 has no navigator).
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown }
  if (nav.gpu === undefined) Object.defineProperty(nav, 'gpu', { value: choice.gpu, configurable: true })
  // A validation error (a kernel beyond the device's limits) would otherwise give wrong numbers silently.
  device.addEventListener?.('uncapturederror', (e) => console.error(`WebGPU error (results of this run are not reliable): ${e.error.message}`))
  // Dawn aborts the process if a device is still alive when Node exits.
  process.once('exit', () => device.destroy())
  // tfjs's own factory asks navigator.gpu for a core-level adapter, which does not exist in
  // Node; register one with the adapter and device found here.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu')
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, choice.adapter.info), 1)
  // By default tfjs runs ops on small inputs on the CPU; rxtrain wants every op on the device
  // (that is what the conformance suite checks, and what a GPU run does).
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  try {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend returned false')
  } catch (e) {
    device.destroy()
    return failed(`the webgpu backend failed to initialise: ${messageOf(e)}`, "choose accelerator: 'wasm'.")
  }
  // rxtrain's fused kernels: Adam per leaf, softmax cross-entropy with its gradient, dense with
  // bias and activation (and its gradient's elementwise part), each one dispatch (issue 19).
  const adam = registerWebGpuAdam()
  const adamStep = registerWebGpuAdamStep()
  registerWebGpuCrossEntropy()
  registerWebGpuDense()
  // Node has no OffscreenCanvas, through which tfjs reads WebGPU buffers synchronously.
  return E.right(engineBackend('webgpu', choice.software ? 'cpu' : 'gpu', describeAdapter(choice), { hostReads: false, kernels: { adam, adamStep } }))
}

/**
 * WebGPU through Dawn (the `webgpu` package) and tfjs's WebGPU kernels: Vulkan on a GPU; on a
 * machine without one, Mesa's llvmpipe through OpenGL ES (`deviceKind` `'cpu'`: correct, slow).
 * Initialised once per process; its packages are loaded on first use.
 */
export const webgpuBackend: BackendTask = async () => {
  registered ??= initialise(true)
  const result = await registered
  if (E.isRight(result)) result.right.activate()
  return result
}

/** As `webgpuBackend`, but only on a hardware adapter (what `accelerator: 'auto' | 'gpu'` try). */
export const webgpuHardwareBackend: BackendTask = async () => {
  if (registered === undefined) {
    const attempt = initialise(false)
    const result = await attempt
    // A failed hardware-only attempt leaves the software route open for an explicit 'webgpu'.
    if (E.isRight(result)) registered = attempt
    return result
  }
  const result = await registered
  if (E.isRight(result) && result.right.deviceKind !== 'gpu')
    return failed(`its only adapter is a software one (${result.right.description})`, "choose accelerator: 'webgpu' to use it anyway.")
  if (E.isRight(result)) result.right.activate()
  return result
}
