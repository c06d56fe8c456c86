/**
 * WebGPU in headless Chromium: the page's own `navigator.gpu` (SwiftShader's Vulkan here, a
 * software adapter; a real GPU where the machine has one), tfjs's WebGPU kernels and rxtrain's
 * fused ones, checked against wasm in the same page with the conformance suite's tolerances
 * (webgpu.page.ts). Where Chromium offers no adapter, the test says why and skips only the
 * comparison; the page itself must still load without an error.
 */
import { createRequire } from 'node:module'
import * as nodePath from 'node:path'
import { describe, expect, it } from 'vitest'
import { withPage } from '../support/chromium.js'
import type { WebGpuReport } from './webgpu.page.js'

/** WebGPU is behind flags on Linux; SwiftShader gives a Vulkan adapter without a GPU. */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader', '--ignore-gpu-blocklist']

const wasmDir = nodePath.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))

describe('WebGPU in headless Chromium', () => {
  it('runs the MNIST MLP, Adam and a short fit within the conformance tolerances of wasm, or says why it cannot', async (ctx) => {
    const { report, problems } = await withPage({ entry: 'test/browser/webgpu.page.ts', dirs: { '/wasm/': wasmDir } }, async ({ page, problems }) => ({
      report: (await page.evaluate('window.webgpuCheck()')) as WebGpuReport,
      problems,
    }), { args: WEBGPU_FLAGS })
    expect(problems).toEqual([])
    if (!report.available) {
      console.log(`WebGPU in headless Chromium: not available (${report.why}); the wasm comparison is skipped`)
      ctx.skip()
      return
    }
    console.log(`WebGPU in headless Chromium: ${report.backend}`)
    for (const c of report.checks) console.log(`  ${c.name}: max |diff| ${c.maxAbsDiff.toExponential(2)}, max rel ${c.maxRelDiff.toExponential(2)} (atol ${c.tolerance.atol}, rtol ${c.tolerance.rtol})`)
    expect(report.checks.map((c) => c.name)).toEqual(['MNIST MLP: logits, loss and gradients', 'adam: five updates', 'MNIST MLP: 15 steps of fit'])
    for (const c of report.checks) {
      expect(c.worst, c.name).toEqual([])
      expect(Number.isFinite(c.maxAbsDiff), c.name).toBe(true)
    }
  }, 120_000)
})
