/**
 * The webgpu backend's fused kernels (issue 19, point 3): one MLP training step in at most 30
 * compute dispatches (counted, not timed, so it holds on Mesa's llvmpipe), the same training as
 * cpu within the conformance suite's tolerance, and each fused kernel against the op path it
 * replaces, without leaks. Skipped, with the reason, where webgpu does not start.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { startBackend } from '../../src/backends/accelerator.js'
import type { Backend } from '../../src/backends/backend.js'
import { agreement } from '../../src/backends/compareBackends.js'
import { DENSE, SOFTMAX_CROSS_ENTROPY } from '../../src/backends/fusedKernelNames.js'
import { countWebGpu } from '../../src/backends/webgpuCounters.js'
import { tidy } from '../../src/backends/tidy.js'
import { nn, optim } from '../../src/index.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { withUpdateContext } from '../../src/optim/transform.js'
import { defineModule } from '../../src/pipeline/module.js'
import { trainStep } from '../../src/pipeline/step.js'
import { foldIn, key } from '../../src/random/key.js'
import { normal } from '../../src/random/sample.js'
import { flattenParams } from '../../src/tree/tree.js'

const cpuResult = await startBackend('cpu')()
if (E.isLeft(cpuResult)) throw cpuResult.left
const cpu = cpuResult.right
const started = await startBackend('webgpu')()
const webgpu: Backend | undefined = E.isRight(started) ? started.right : undefined
const skipReason = E.isLeft(started) ? `webgpu did not start: ${started.left.message}` : ''
if (skipReason !== '') console.warn(`test/backends/webgpuDispatch.test.ts skipped: ${skipReason}`)

// The bench's MLP (bench/workloads.ts, moduleOf(mlp)): 784-256-10 relu, batch 128, Adam.
const net = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 }))
const module = defineModule({
  init: (k) => net.init(k, [784]),
  trainingStep: (model, batch: { x: tf.Tensor; y: tf.Tensor }, ctx) => {
    const loss = nn.softmaxCrossEntropy(net.apply(model, batch.x, ctx).y, batch.y)
    return { loss, logs: { 'train/loss': loss } }
  },
  optimizer: optim.adam({ lr: 1e-3, biasCorrection: 'float32' }),
})
const ctx = { training: true, key: key(0) }
const xValues = normal(key(5), 128 * 784)
const yValues = Int32Array.from({ length: 128 }, (_, i) => (i * 7) % 10)

/** A trainer of `steps` steps on `backend` (its record brings the fused Adam); returns the final state. */
const trainer = (backend: Backend) => {
  const step = trainStep(module, withUpdateContext(module.optimizer as never, backend))
  const batch = { x: tf.tensor(xValues, [128, 784]), y: tf.tensor(yValues, [128], 'int32') }
  let state = step.init(module.init(key(0)) as never)
  const run = (i: number): tf.Tensor => {
    const ctx = { stage: 'train' as const, training: true, key: foldIn(key(1), i), epoch: 0, batchIdx: i, globalStep: i, lossScale: undefined } as never
    const out = tidy(() => step(state as never, batch, ctx)) as unknown as { state: typeof state; loss: tf.Tensor; logs: unknown }
    backend.release(state, out.state)
    const loss = tf.clone(out.loss)
    backend.dispose([out.logs, out.loss])
    state = out.state
    return loss
  }
  return { run, state: () => state, dispose: () => backend.dispose([state, batch]) }
}

describe.skipIf(webgpu === undefined)(`webgpu fused kernels${skipReason === '' ? '' : ` (skipped: ${skipReason})`}`, () => {
  const gpu = webgpu as Backend

  it('counts dispatches, uploads and awaited reads between two points; overlapping counters each see their own span', async () => {
    gpu.activate()
    const engineBackend = tf.engine().findBackend('webgpu') as object
    const x = tf.tensor([1, 2, 3])
    const outer = countWebGpu()
    const y = tf.add(x, x) // uploads x, one dispatch
    const inner = countWebGpu()
    const z = tf.mul(y, y)
    const values = await z.data()
    expect(inner.stop()).toMatchObject({ dispatches: 1, reads: 1, uploads: 0 })
    expect(Array.from(values)).toEqual([4, 16, 36])
    expect(outer.counts()).toMatchObject({ dispatches: 2, reads: 1, uploads: 1 })
    expect(outer.stop().programs).toEqual({ 'BinaryOpProgram:0': 1, 'BinaryOpProgram:17': 1 })
    // The backend object is left as it was.
    expect(Object.hasOwn(engineBackend, 'recordAndSubmit')).toBe(false)
    tf.dispose([x, y, z])
  })

  it('runs one MLP training step (784-256-10, batch 128, Adam) in at most 30 dispatches and no read, without leaks', () => {
    gpu.activate()
    const before = tf.memory().numTensors
    const t = trainer(gpu)
    t.run(0).dispose() // warm-up: compiles the pipelines
    const counter = countWebGpu()
    const loss = t.run(1)
    const counts = counter.stop()
    loss.dispose()
    t.dispose()
    // Op by op it took 90: 56 for Adam (12 per leaf, the lr scale and the update), 20 for the loss.
    // Adam's fused step (moments, learning rate and the parameter's update) is one per leaf.
    expect(counts.dispatches).toBeLessThanOrEqual(30)
    expect(counts.reads).toBe(0)
    expect(counts.programs.RxtrainAdamStepProgram).toBe(4)
    expect(counts.programs.RxtrainSoftmaxCrossEntropyProgram).toBe(1)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('trains the MLP as cpu does (3 steps, the conformance tolerance for training)', async () => {
    const compute = () => {
      const t = trainer(tf.getBackend() === 'webgpu' ? gpu : cpu)
      for (let i = 0; i < 3; i++) t.run(i).dispose()
      const params = flattenParams(t.state().params as never).map((l) => tf.clone(l.tensor))
      t.dispose()
      return params
    }
    const a = await agreement(gpu, cpu, compute, { atol: 2e-4, rtol: 2e-3 })
    expect(a.worst).toEqual([])
    expect(a.maxAbsDiff).toBeGreaterThan(0) // the fused kernels ran (cpu's numbers differ in the last bits)
  })

  it('fused Adam equals the op-by-op step within 1e-6 (update and moments), in one dispatch per leaf', async () => {
    gpu.activate()
    const before = tf.memory().numTensors
    const g = { w: tf.tensor(normal(key(2), 3001), [3001]), b: tf.tensor(normal(key(3), 12), [3, 4]) }
    const fused = scaleByAdam({ biasCorrection: 'float32' })
    const ops = scaleByAdam({ biasCorrection: 'float32', fused: false })
    let [sf, so] = [fused.init(g), ops.init(g)]
    const close = async (a: tf.Tensor, b: tf.Tensor) => {
      const [x, y] = [await a.data(), await b.data()]
      expect(x.length).toBe(y.length)
      for (let i = 0; i < x.length; i++) expect(Math.abs((x[i] as number) - (y[i] as number))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(y[i] as number)))
    }
    for (let step = 0; step < 3; step++) {
      const counter = countWebGpu()
      const [uf, nf] = tidy(() => fused.update(g, sf, g, { kernels: gpu.kernels }))
      const counts = counter.stop()
      expect(counts.dispatches).toBe(2)
      // The constants travel in the dispatch's uniforms (the first step uploads the gradients).
      if (step > 0) expect(counts.uploads).toBe(0)
      const [uo, no] = tidy(() => ops.update(g, so, g))
      for (const [a, b] of [[uf.w, uo.w], [uf.b, uo.b], [nf.mu.w, no.mu.w], [nf.nu.w, no.nu.w]] as const) await close(a as tf.Tensor, b as tf.Tensor)
      gpu.release(sf, nf)
      gpu.release(so, no)
      gpu.dispose([uf, uo])
      ;[sf, so] = [nf, no]
    }
    gpu.dispose([sf, so, g])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('fused softmax cross-entropy equals the op path (loss 1e-6 relative, gradient 1e-6 absolute) in one dispatch and a product', async () => {
    gpu.activate()
    expect(tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'webgpu')).toBeDefined()
    const before = tf.memory().numTensors
    // 200 rows: more than the kernel's 64 invocations, so each takes several rows.
    const logits = tf.tidy(() => tf.mul(tf.tensor(normal(key(4), 200 * 7), [200, 7]), 3))
    const labels = tf.tensor(Int32Array.from({ length: 200 }, (_, i) => (i * 3) % 7), [200], 'int32')
    const counter = countWebGpu()
    const [loss, grad] = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => nn.softmaxCrossEntropy(l, labels))(logits)
      return [value, grad]
    })
    const counts = counter.stop()
    expect(counts.dispatches).toBe(2) // the kernel, and dy · dlogits
    // The op path, written out (what softmaxCrossEntropy computes where no backend has the kernel).
    const [refLoss, refGrad] = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(labels, 7, 1, 0, 'float32'), tf.logSoftmax(l)), -1))))(logits)
      return [value, grad]
    })
    const [l, r] = [(await loss.data())[0] as number, (await refLoss.data())[0] as number]
    expect(Math.abs(l - r)).toBeLessThanOrEqual(1e-6 * Math.abs(r))
    const [g, rg] = [await grad.data(), await refGrad.data()]
    for (let i = 0; i < g.length; i++) expect(Math.abs((g[i] as number) - (rg[i] as number))).toBeLessThanOrEqual(1e-6)
    tf.dispose([logits, labels, loss, grad, refLoss, refGrad])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('fused dense (bias and relu) equals the op path, forward and gradients, and computes only the gradients the tape needs', async () => {
    gpu.activate()
    expect(tf.getKernel(DENSE, 'webgpu')).toBeDefined()
    const before = tf.memory().numTensors
    for (const [activation, useBias] of [['relu', true], ['relu', false], ['linear', true], [undefined, false]] as const) {
      const layer = nn.dense({ units: 9, activation, useBias })
      const { params } = layer.init(key(8), [13])
      const x = tf.tensor(normal(key(9), 20 * 13), [20, 13])
      const weights = tf.tensor(normal(key(10), 20 * 9), [20, 9])
      const leaves = params.bias === undefined ? [params.kernel] : [params.kernel, params.bias]
      const f = (apply: (xs: tf.Tensor, ps: tf.Tensor[]) => tf.Tensor) => tf.tidy(() => {
        const y = apply(x, leaves)
        const grads = tf.grads((xs: tf.Tensor, ...ps: tf.Tensor[]) => tf.sum(tf.mul(apply(xs, ps), weights)))([x, ...leaves])
        return [y, ...grads]
      })
      const fused = f((xs, [kernel, bias]) => layer.apply({ params: bias === undefined ? { kernel: kernel as tf.Tensor } : { kernel: kernel as tf.Tensor, bias }, state: {} }, xs, ctx).y)
      const ops = f((xs, [kernel, bias]) => {
        const z = tf.matMul(xs, kernel as tf.Tensor)
        const zb = bias === undefined ? z : tf.add(z, bias)
        return activation === 'relu' ? tf.relu(zb) : zb
      })
      for (let i = 0; i < fused.length; i++) {
        const [a, b] = [await (fused[i] as tf.Tensor).data(), await (ops[i] as tf.Tensor).data()]
        expect(a.length).toBe(b.length)
        for (let j = 0; j < a.length; j++) expect(Math.abs((a[j] as number) - (b[j] as number))).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(b[j] as number))
      }
      tf.dispose([...fused, ...ops, x, weights, ...leaves])
    }
    // A first layer's input needs no gradient: one dispatch forward, then the bias-and-relu
    // gradient and the kernel's product (no product for the input's gradient).
    const layer = nn.dense({ units: 9, activation: 'relu' })
    const { params } = layer.init(key(8), [13])
    const x = tf.tensor(normal(key(9), 20 * 13), [20, 13])
    const counter = countWebGpu()
    const grads = tf.tidy(() => tf.grads((k: tf.Tensor, b: tf.Tensor) => tf.sum(layer.apply({ params: { kernel: k, bias: b }, state: {} }, x, ctx).y))([params.kernel, params.bias as tf.Tensor]))
    expect(counter.stop().programs).toMatchObject({ RxtrainDenseBackwardReluProgram: 1 })
    tf.dispose([...grads, x, params.kernel, params.bias as tf.Tensor])
    expect(tf.memory().numTensors).toBe(before)
  })
})
