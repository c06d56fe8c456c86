import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import type { BatchSource } from '../../src/data/source.js'
import { optim, tidy } from '../../src/index.js'
import { hasTag } from '../../src/errors/rxtrainError.js'
import { defineModule, type StepContext } from '../../src/pipeline/module.js'
import { trainStep } from '../../src/pipeline/step.js'
import { key } from '../../src/random/key.js'
import { disposeTree, type Params, tensorsOf } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'
import { interruptAndResume } from '../support/resumeRun.js'
import type { XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

// A toy adversarial pair: the discriminator scores x·d, the generator makes x·g (elementwise).
// D wants real scores near 1 and fake ones near -1; G wants its fakes scored 1.
type Toy = { disc: { w: tf.Tensor }; gen: { w: tf.Tensor } }
const groupOf = (path: string): 'd' | 'g' => (path.startsWith('disc/') ? 'd' : 'g')
const score = (p: Toy, x: tf.Tensor) => tf.sum(tf.mul(x, p.disc.w), 1)
const fake = (p: Toy, x: tf.Tensor) => tf.mul(x, p.gen.w)
const lossD = (p: Toy, x: tf.Tensor): tf.Scalar =>
  tf.add(tf.mean(tf.square(tf.sub(score(p, x), 1))), tf.mean(tf.square(tf.add(score(p, fake(p, x)), 1)))) as tf.Scalar
const lossG = (p: Toy, x: tf.Tensor): tf.Scalar => tf.mean(tf.square(tf.sub(score(p, fake(p, x)), 1))) as tf.Scalar

const toy = (optimizer: optim.GradientTransform = optim.multiTransform({ d: optim.sgd({ lr: 0.1 }), g: optim.sgd({ lr: 0.05 }) }, groupOf), seen: string[] = []) =>
  defineModule({
    init: () => ({ params: { disc: { w: tf.tensor1d([0.3, -0.2]) }, gen: { w: tf.tensor1d([0.5, 1.5]) } }, state: {} }),
    trainingStep: (m, { x }: XY, ctx) => {
      seen.push(ctx.group ?? '-')
      const loss = ctx.group === 'd' ? lossD(m.params, x) : lossG(m.params, x)
      return { loss, logs: { [`train/loss_${ctx.group ?? ''}`]: loss } }
    },
    validationStep: (m, { x }: XY) => ({ 'val/loss_g': lossG(m.params, x) }),
    optimizer,
    groups: { order: ['d', 'g'], groupOf },
  })

const ctx: StepContext = { stage: 'train', training: true, key: key(1), epoch: 0, batchIdx: 0, globalStep: 0 }
const batchOf = (s: number): XY => ({ x: tf.tensor2d([1 + s, 2, -1, 0.5 * s], [2, 2]), y: tf.zeros([2]) })
const values = (t: unknown): number[][] => tensorsOf(t).map((x) => Array.from(x.dataSync()))

/** SGD by hand: `p - lr * dL/dp` for the leaves of one network. */
const sgdBy = (lr: number, w: tf.Tensor, loss: (w: tf.Tensor) => tf.Scalar): tf.Tensor => tf.sub(w, tf.mul(lr, tf.grad(loss)(w)))

describe('several losses per step', () => {
  it('steps the groups in order: the generator loss sees the discriminator the first loss updated', () => {
    const seen: string[] = []
    const module = toy(undefined, seen)
    const step = trainStep(module, module.optimizer)
    const state = tidy(() => step.init(module.init(key(0))))
    const batch = batchOf(1)
    const out = tidy(() => step(state, batch, ctx))
    expect(seen).toEqual(['d', 'g'])
    const expected = tf.tidy(() => {
      const p0 = module.init(key(0)).params as Toy
      const d1 = sgdBy(0.1, p0.disc.w, (w) => lossD({ ...p0, disc: { w } }, batch.x))
      const g1 = sgdBy(0.05, p0.gen.w, (w) => lossG({ disc: { w: d1 }, gen: { w } }, batch.x))
      // with the discriminator as it was before the step, the generator would move differently
      const gStale = sgdBy(0.05, p0.gen.w, (w) => lossG({ disc: p0.disc, gen: { w } }, batch.x))
      return { d: Array.from(d1.dataSync()), g: Array.from(g1.dataSync()), gStale: Array.from(gStale.dataSync()) }
    })
    const got = out.state.params as Toy
    expect(Array.from(got.disc.w.dataSync())).toEqual(expected.d)
    expect(Array.from(got.gen.w.dataSync())).toEqual(expected.g)
    expect(expected.g).not.toEqual(expected.gStale)
    // the reported loss is the sum of the two; each is logged by the module
    expect(Object.keys(out.logs ?? {}).sort()).toEqual(['train/loss_d', 'train/loss_g'])
    disposeTree([out, state, batch])
  })

  it('keeps an optimizer state per group, holding that group’s leaves only', () => {
    const module = toy(optim.multiTransform({ d: optim.adam({ lr: 0.01 }), g: optim.sgd({ lr: 0.1, momentum: 0.9 }) }, groupOf))
    const step = trainStep(module, module.optimizer)
    const state = tidy(() => step.init(module.init(key(0))))
    const out = tidy(() => step(state, batchOf(0), ctx))
    const opt = out.state.optState as { d: unknown; g: unknown }
    expect(tensorsOf(opt.d).map((t) => t.size)).toEqual([2, 2]) // Adam's moments of disc/w
    expect(tensorsOf(opt.g).map((t) => t.size)).toEqual([2]) // the momentum trace of gen/w
    // Adam counted one step, not two (the generator's step left the discriminator's state alone)
    expect(JSON.stringify(opt.d)).toContain('"count":1')
    disposeTree([out, state])
  })

  it('clips each group on its own (gradientClipVal)', () => {
    const module = toy(optim.multiTransform({ d: optim.sgd({ lr: 1 }), g: optim.sgd({ lr: 1 }) }, groupOf))
    const step = trainStep(module, module.optimizer, { gradientClipVal: 0.01 })
    const state = tidy(() => step.init(module.init(key(0))))
    const out = tidy(() => step(state, batchOf(2), ctx))
    const moved = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0] as number)
    const [before, after] = [state.params as Toy, out.state.params as Toy]
    expect(moved(before.disc.w, after.disc.w)).toBeCloseTo(0.01, 6)
    expect(moved(before.gen.w, after.gen.w)).toBeCloseTo(0.01, 6)
    disposeTree([out, state])
  })

  it('accumulates a window per group and steps every group when it closes', () => {
    const module = toy()
    const step = trainStep(module, module.optimizer, { accumulateGradBatches: 2 })
    const state = tidy(() => step.init(module.init(key(0))))
    const first = tidy(() => step(state, batchOf(1), ctx))
    expect(first.stepped).toBe(false)
    expect(values(first.state.params)).toEqual(values(state.params))
    const windows = first.state.gradAccumulator as Record<string, Params>
    expect(Object.keys(windows).sort()).toEqual(['d', 'g'])
    const second = tidy(() => step(first.state, batchOf(2), { ...ctx, batchIdx: 1 }))
    expect(second.stepped).toBe(true)
    expect(second.state.gradAccumulator).toBeNull()
    const [p0, p2] = [state.params as Toy, second.state.params as Toy]
    expect(Array.from(p2.disc.w.dataSync())).not.toEqual(Array.from(p0.disc.w.dataSync()))
    expect(Array.from(p2.gen.w.dataSync())).not.toEqual(Array.from(p0.gen.w.dataSync()))
    disposeTree([first, second, state])
  })

  it('skips a group whose gradients overflow under 16-mixed and backs the shared loss scale off once', () => {
    const module = defineModule({
      ...toy(),
      trainingStep: (m, { x }: XY, c) => ({ loss: c.group === 'd' ? (tf.mul(lossD(m.params, x), Infinity) as tf.Scalar) : lossG(m.params, x) }),
    })
    const step = trainStep(module, module.optimizer, { precision: '16-mixed' })
    const state = tidy(() => step.init(module.init(key(0))))
    const scale = step.precision.initScale()
    const out = tidy(() => step(state, batchOf(1), { ...ctx, lossScale: scale }))
    expect(out.gradsFinite).toBe(false)
    expect(out.lossScale.scale).toBe(step.precision.nextScale(scale, false).scale)
    const [p0, p1] = [state.params as Toy, out.state.params as Toy]
    expect(Array.from(p1.disc.w.dataSync())).toEqual(Array.from(p0.disc.w.dataSync())) // skipped
    expect(Array.from(p1.gen.w.dataSync())).not.toEqual(Array.from(p0.gen.w.dataSync())) // stepped
    disposeTree([out, state])
  })

  it('is a ConfigError when the optimizer has no such groups', () => {
    const module = toy(optim.sgd({ lr: 0.1 }))
    try {
      trainStep(module, module.optimizer)
      expect.fail('accepted an optimizer without groups')
    } catch (e) {
      expect(hasTag(e, 'ConfigError')).toBe(true)
      expect(String(e)).toContain('multiTransform')
    }
  })

  it('leaks nothing', () => {
    const before = tf.memory().numTensors
    const module = toy()
    const step = trainStep(module, module.optimizer, { accumulateGradBatches: 2 })
    const state = tidy(() => step.init(module.init(key(0))))
    const batch = batchOf(1)
    const a = tidy(() => step(state, batch, ctx))
    backend.release(state, a.state)
    const b = tidy(() => step(a.state, batch, { ...ctx, batchIdx: 1 }))
    backend.release(a.state, b.state)
    disposeTree([a.loss, a.logs, b.loss, b.logs, b.state, batch])
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('several losses in fit', () => {
  const data = () => {
    const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.3))
    const arrays = { x: { data: x, shape: [2] }, y: { data: new Float32Array(12), shape: [] } }
    return { train: fromArrays(arrays, { batchSize: 3, shuffle: true }) as unknown as BatchSource<XY>, val: fromArrays(arrays, { batchSize: 4 }) as unknown as BatchSource<XY> }
  }

  it('resumes bitwise across an interruption (per-group optimizer states and accumulation windows in the checkpoint)', async () => {
    const module = toy(optim.multiTransform({ d: optim.adam({ lr: 0.01 }), g: optim.sgd({ lr: 0.05, momentum: 0.9 }) }, groupOf))
    let n = 0
    // interrupted after the 5th batch: inside an accumulation window of 2
    const { full, resumed } = await interruptAndResume(module, data(), { maxEpochs: 3, numSanityValSteps: 0, seed: 4, accumulateGradBatches: 2 }, backend, (e) => e.type === 'trainStep' && ++n === 5)
    expect(resumed.params).toEqual(full.params)
    expect(resumed.optState).toEqual(full.optState)
    expect(resumed.optPlain).toEqual(full.optPlain)
    expect(full.params).not.toEqual(values(tf.tidy(() => module.init(key(0)).params)))
  })
})

describe('several losses and data parallelism', () => {
  it("is a ConfigError with strategy 'ddp' (the groups step one after the other)", async () => {
    const { fit } = await import('../../src/pipeline/fit.js')
    const { lastValueFrom } = await import('rxjs')
    const x = new Float32Array(8)
    const train = fromArrays({ x: { data: x, shape: [2] }, y: { data: new Float32Array(4), shape: [] } }, { batchSize: 2 }) as unknown as BatchSource<XY>
    const error = await lastValueFrom(fit(toy(), { train }, { maxEpochs: 1, strategy: 'ddp', devices: 2 }, { backend })).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(hasTag(error, 'ConfigError')).toBe(true)
    expect(String(error)).toContain('several losses')
  })
})
