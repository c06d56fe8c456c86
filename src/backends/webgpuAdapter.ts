/**
 * What rxtrain's webgpu backend needs to know of a WebGPU adapter, on either platform. Finding
 * the adapter is the platform's part (`#platform/webgpuDevice.js`: Dawn in Node, `navigator.gpu`
 * in a browser); starting tfjs's backend on it and registering the fused kernels is webgpu.ts's.
 */

/** The adapter's identity, as WebGPU's `GPUAdapterInfo` gives it (the full types live in @webgpu/types). */
export interface WebGpuAdapterInfo {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
}

/**
 * An adapter that runs on the CPU (Mesa's llvmpipe or lavapipe, SwiftShader). Chromium names
 * SwiftShader only in `architecture` (vendor `google`, device and description empty).
 */
export const isSoftwareAdapter = (info: WebGpuAdapterInfo): boolean =>
  /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.device} ${info.description} ${info.vendor} ${info.architecture}`)

/** The adapter's name for a backend's description: vendor, device, description, or the architecture where a browser gives neither of the two. */
export const adapterName = (info: WebGpuAdapterInfo): string => {
  const parts = [info.vendor, info.device, info.description].filter((t) => t !== '')
  if (info.device === '' && info.description === '' && info.architecture !== '') parts.push(info.architecture)
  return parts.join(', ')
}

/**
 * A platform's answer once tfjs's `'webgpu'` backend factory is registered and will start on the
 * adapter found: where it runs (for the backend's description), whether that adapter is a
 * software one, and how to free the device should tfjs fail to start on it.
 */
export interface WebGpuSetup {
  /** E.g. `Dawn vulkan` or `browser`. */
  readonly where: string
  readonly software: boolean
  readonly info: WebGpuAdapterInfo
  readonly release: () => void
}

/** Why no WebGPU backend can start here, and what to do: the platform knows both. */
export interface WebGpuUnavailable {
  readonly problem: string
  readonly remedy: string
}

/** An adapter info with every field a string (browsers and Dawn versions leave some out). */
export const adapterInfoOf = (info: Partial<WebGpuAdapterInfo> | undefined): WebGpuAdapterInfo => ({
  vendor: info?.vendor ?? '',
  architecture: info?.architecture ?? '',
  device: info?.device ?? '',
  description: info?.description ?? '',
})
