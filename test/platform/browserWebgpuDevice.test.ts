/**
 * The browser's WebGPU acquisition (src/effects/platform/browser/webgpuDevice.ts), run in Node on fake
 * `navigator.gpu` objects: each way a page can lack WebGPU is a sentence with its remedy, and a
 * page that has it gets the adapter tfjs's factory will use described. (A real adapter in
 * Chromium is test/browser's part.)
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { prepareWebGpuWith } from '../../src/effects/platform/browser/webgpuDevice.js'

const noImport = async (): Promise<unknown> => {
  throw new Error('Failed to resolve module specifier "@tensorflow/tfjs-backend-webgpu"')
}
/** A stand-in for tfjs's factory (never started here: only its presence matters). */
const registerFactory = (): void => {
  tf.registerBackend('webgpu', () => ({}) as tf.KernelBackend, 0)
}
const gpuWith = (adapter: object | null) => ({ requestAdapter: vi.fn(async () => adapter) })
/** What Chromium 14x's headless SwiftShader adapter says of itself. */
const swiftShader = { info: { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true } }
const nvidia = { info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: '' } }

afterEach(() => {
  vi.unstubAllGlobals()
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu')
})

const problemOf = (r: E.Either<{ problem: string; remedy: string }, unknown>): string => (E.isLeft(r) ? `${r.left.problem} | ${r.left.remedy}` : 'started')

describe('WebGPU in a browser page', () => {
  it('without navigator.gpu: says the browser has no WebGPU and names wasm', async () => {
    vi.stubGlobal('navigator', {})
    expect(problemOf(await prepareWebGpuWith(true, noImport))).toMatch(/navigator\.gpu is undefined.*accelerator: 'wasm'/)
  })

  it("without the page's import of tfjs's WebGPU kernels: names the import to add", async () => {
    const gpu = gpuWith(nvidia)
    vi.stubGlobal('navigator', { gpu })
    const why = problemOf(await prepareWebGpuWith(true, noImport))
    expect(why).toContain("add `import '@tensorflow/tfjs-backend-webgpu'`")
    expect(why).toContain(tf.version_core)
    expect(gpu.requestAdapter).not.toHaveBeenCalled()
  })

  it('loads the kernels by their (import-mapped) name when the page did not', async () => {
    vi.stubGlobal('navigator', { gpu: gpuWith(nvidia) })
    const r = await prepareWebGpuWith(false, async () => registerFactory())
    expect(E.isRight(r) && r.right).toMatchObject({ where: 'browser', software: false, info: { vendor: 'nvidia', architecture: 'hopper' } })
  })

  it('with no adapter: says so', async () => {
    registerFactory()
    vi.stubGlobal('navigator', { gpu: gpuWith(null) })
    expect(problemOf(await prepareWebGpuWith(true, noImport))).toMatch(/no WebGPU adapter/)
  })

  it('SwiftShader is a software adapter: refused for a hardware-only start, taken for an explicit one', async () => {
    registerFactory()
    vi.stubGlobal('navigator', { gpu: gpuWith(swiftShader) })
    expect(problemOf(await prepareWebGpuWith(false, noImport))).toMatch(/only adapter is a software one \(google, swiftshader\).*accelerator: 'webgpu'/)
    const r = await prepareWebGpuWith(true, noImport)
    expect(E.isRight(r) && r.right.software).toBe(true)
  })

  it('a fallback adapter counts as a software one, whatever it is called', async () => {
    registerFactory()
    vi.stubGlobal('navigator', { gpu: gpuWith({ info: { vendor: 'acme', isFallbackAdapter: true } }) })
    const r = await prepareWebGpuWith(true, noImport)
    expect(E.isRight(r) && r.right.software).toBe(true)
    vi.stubGlobal('navigator', { gpu: gpuWith({ isFallbackAdapter: true, info: { vendor: 'acme' } }) })
    expect(problemOf(await prepareWebGpuWith(false, noImport))).toMatch(/software one \(acme\)/)
  })

  it("reads the adapter's identity from requestAdapterInfo() where a browser has no adapter.info", async () => {
    registerFactory()
    vi.stubGlobal('navigator', { gpu: gpuWith({ requestAdapterInfo: async () => ({ vendor: 'intel' }) }) })
    const r = await prepareWebGpuWith(false, noImport)
    expect(E.isRight(r) && r.right.info).toEqual({ vendor: 'intel', architecture: '', device: '', description: '' })
  })
})
