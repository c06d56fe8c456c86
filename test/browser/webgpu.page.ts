/**
 * Bundled into a page by webgpu.test.ts: tfjs's WebGPU kernels on the browser's own
 * `navigator.gpu` (rxtrain's fused kernels included) against wasm in the same page, with the
 * conformance suite's tolerances. `window.webgpuCheck()` says why WebGPU is missing, or returns
 * one agreement per check.
 */
import '@tensorflow/tfjs-backend-webgpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import { mlp, net } from '../../examples/browser-mnist/model.js'
import { agreement, type Tolerance } from '../../src/backends/compareBackends.js'
import { type Backend, data, effects, fit, flattenParams, key, nn, optim, startBackend, trainedModel } from 'rxtrain'
import { unflattenParams } from '../../src/tree/tree.js'

/** test/conformance/backend.test.ts's tolerances (there against cpu; wasm computes as cpu does, within float32 reordering). */
const forward: Tolerance = { atol: 1e-5, rtol: 1e-4 }
const updates: Tolerance = { atol: 1e-5, rtol: 1e-4 }
const training: Tolerance = { atol: 2e-4, rtol: 2e-3 }

/** Deterministic values in [-1, 1) (a 32-bit LCG), so both backends get the same inputs. */
const values = (seed: number, n: number): Float32Array => {
  let s = seed >>> 0
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 31 - 1
  })
}

/** Small fake MNIST (random pixels and labels): enough batches for a short fit, no download. */
const fakeMnist = (count: number): data.MnistArrays => {
  const split = (seed: number): data.MnistSplit => ({
    images: Uint8Array.from(values(seed, count * 784), (v) => Math.floor((v + 1) * 127.5)),
    labels: Uint8Array.from(values(seed + 1, count), (v) => Math.floor((v + 1) * 5)),
    count,
  })
  return { train: split(1), test: split(3) }
}

export interface Check {
  readonly name: string
  readonly maxAbsDiff: number
  readonly maxRelDiff: number
  readonly tolerance: Tolerance
  readonly worst: readonly (readonly [string, number, number, number])[]
}
export type WebGpuReport = { readonly available: false; readonly why: string } | { readonly available: true; readonly backend: string; readonly checks: readonly Check[] }

const run = async (): Promise<WebGpuReport> => {
  setWasmPaths(new URL('/wasm/', location.href).href)
  const wasm = await startBackend('wasm')()
  if (E.isLeft(wasm)) throw new Error(wasm.left.message)
  // Only the browser may lack WebGPU: once it offers an adapter, rxtrain's backend must start on it.
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<object | null> } }).gpu
  if (gpu === undefined) return { available: false, why: 'this Chromium has no navigator.gpu' }
  if ((await gpu.requestAdapter()) === null) return { available: false, why: 'navigator.gpu.requestAdapter() gave no adapter (no Vulkan driver, GPU blocked)' }
  const webgpu = await startBackend('webgpu')()
  if (E.isLeft(webgpu)) throw new Error(`the browser offers a WebGPU adapter, but the webgpu backend did not start: ${webgpu.left.message}`)

  const checks: Check[] = []
  const check = async (name: string, compute: () => unknown, tolerance: Tolerance): Promise<void> => {
    const a = await agreement(webgpu.right, wasm.right, compute, tolerance)
    checks.push({ name, maxAbsDiff: a.maxAbsDiff, maxRelDiff: a.maxRelDiff, tolerance, worst: a.worst })
  }

  // The MLP's forward pass, loss and gradients (rxtrain's fused dense and cross-entropy kernels).
  await check(
    'MNIST MLP: logits, loss and gradients',
    () => {
      const { params, state } = net.init(key(1), [784])
      const x = tf.tensor2d(values(7, 32 * 784), [32, 784])
      const y = tf.tensor1d(Int32Array.from(values(8, 32), (v) => Math.floor((v + 1) * 5)), 'int32')
      const ctx = { training: true, key: key(2) }
      const loss = (...p: tf.Tensor[]) => nn.softmaxCrossEntropy(net.apply({ params: unflattenParams(params, p), state }, x, ctx).y, y)
      const { value, grads } = tf.valueAndGrads(loss)(flattenParams(params).map((l) => l.tensor))
      return { logits: net.apply({ params, state }, x, ctx).y, loss: value, grads }
    },
    forward,
  )
  // Five Adam updates (the fused Adam kernel).
  await check(
    'adam: five updates',
    () => {
      const opt = optim.adam({ lr: 0.01 })
      let params = { a: tf.tensor2d(values(20, 12), [3, 4]), b: { c: tf.tensor1d(values(21, 5)) } }
      let state = opt.init(params)
      for (let step = 0; step < 5; step++) {
        const grads = { a: tf.tensor2d(values(30 + step, 12), [3, 4]), b: { c: tf.tensor1d(values(40 + step, 5)) } }
        const [u, next] = opt.update(grads, state, params)
        params = { a: tf.add(params.a, (u as typeof params).a), b: { c: tf.add(params.b.c, (u as typeof params).b.c) } }
        state = next
      }
      return { params, state }
    },
    updates,
  )
  // A short fit of the example's module (its Adam, its schedule) on each backend.
  const arrays = fakeMnist(640)
  const fitOn = async (backend: Backend) => {
    const digits = data.mnistDataModule(arrays, { batchSize: 32, layout: 'flat', workers: 0 })
    const model = await lastValueFrom(
      fit(mlp, digits, { maxSteps: 15, seed: 0, limitValBatches: 0 }, { backend, fs: effects.memoryFileSystem(), signals: effects.manualSignals() }).pipe(trainedModel()),
    )
    return model
  }
  const trained = { webgpu: await fitOn(webgpu.right), wasm: await fitOn(wasm.right) }
  await check('MNIST MLP: 15 steps of fit', () => (tf.getBackend() === 'webgpu' ? trained.webgpu.params : trained.wasm.params), training)
  return { available: true, backend: webgpu.right.description, checks }
}

declare global {
  interface Window {
    webgpuCheck: () => Promise<WebGpuReport>
  }
}
window.webgpuCheck = run
