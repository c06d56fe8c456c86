import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { startBackend } from '../../src/backends/accelerator.js'
import { type Backend, withoutHostReads } from '../../src/backends/backend.js'
import { deviceCastHalf, type HalfRounding } from '../../src/backends/castHalf.js'
import type { FusedAdam } from '../../src/backends/fusedAdam.js'
import { float32Precision, precisionNames, resolvePrecision, storageDtypeOf } from '../../src/backends/precision.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { adam } from '../../src/optim/aliases.js'
import { accumulateGradients } from '../../src/optim/accumulate.js'
import { scaleByAdam } from '../../src/optim/adam.js'
import { applyIfFinite } from '../../src/optim/applyIfFinite.js'
import { takePending } from '../../src/optim/deviceDecision.js'
import { chain } from '../../src/optim/chain.js'
import { scaleByLearningRate } from '../../src/optim/scale.js'
import { type UpdateContext, withUpdateContext } from '../../src/optim/transform.js'
import { flattenParams, type Params } from '../../src/tree/tree.js'

const resolved = async (name: 'cpu' | 'wasm'): Promise<Backend> => {
  const r = await startBackend(name)()
  if (E.isLeft(r)) throw r.left
  return r.right
}

let cpu: Backend
let wasm: Backend
beforeAll(async () => {
  wasm = await resolved('wasm')
  cpu = await resolved('cpu')
})

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer))
const leafBits = (tree: Params): number[][] => flattenParams(tree).map((l) => bits(l.tensor))

describe('accelerator resolution', () => {
  it("'cpu' gives the cpu backend, current and described", async () => {
    const r = await startBackend('cpu')()
    expect(E.isRight(r) && r.right.name).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(E.isRight(r) && r.right.deviceKind).toBe('cpu')
    expect(E.isRight(r) && r.right.description).toMatch(/^cpu \(pure JavaScript, tfjs 4\.22\.0\)$/)
  })

  it('activate switches between initialised backends synchronously', () => {
    wasm.activate()
    expect(tf.getBackend()).toBe('wasm')
    cpu.activate()
    expect(tf.getBackend()).toBe('cpu')
  })
})

describe('the backend capability', () => {
  it('reads scalars back in order, whatever their dtype', () => {
    cpu.activate()
    const before = tf.memory().numTensors
    const values = [tf.scalar(1.5), tf.scalar(7, 'int32'), tf.tensor1d([2.25])]
    expect(cpu.readScalars(values)).toEqual([1.5, 7, 2.25])
    expect(cpu.readScalars([])).toEqual([])
    tf.dispose(values)
    expect(cpu.memory().numTensors).toBe(before)
  })

  it('scoped releases what it does not return', () => {
    cpu.activate()
    const before = tf.memory().numTensors
    const out = cpu.scoped(() => {
      tf.ones([3])
      return { kept: tf.zeros([2]), n: 1, nothing: null }
    })
    expect(tf.memory().numTensors).toBe(before + 1)
    cpu.dispose(out)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('the backend record carries what the core needs', () => {
  const finiteTree = (): Params => ({ a: tf.tensor1d([1, 2]), b: { c: tf.tensor2d([[3e38, -3e38]]) } })
  const nanTree = (): Params => ({ a: tf.tensor1d([1, 2]), b: { c: tf.tensor2d([[0, Number.NaN]]) } })
  const infTree = (): Params => ({ a: tf.tensor1d([Number.NEGATIVE_INFINITY]) })

  it.each([
    ['cpu', () => cpu],
    ['wasm', () => wasm],
  ])('%s reads synchronously: it checks finiteness on the host and on the device, rounds to half formats, and offers fused Adam', (_, backend) => {
    const b = backend()
    b.activate()
    expect(b.hostReads).toBe(true)
    const before = tf.memory().numTensors
    tf.tidy(() => {
      expect(b.finite.onHost?.(finiteTree())).toBe(true)
      expect(b.finite.onHost?.(nanTree())).toBe(false)
      expect(b.finite.onHost?.(infTree())).toBe(false)
      expect(b.finite.onHost?.({})).toBe(true)
      const flag = b.finite.onDevice(nanTree())
      expect(flag.dtype).toBe('bool')
      expect(flag.shape).toEqual([])
      expect(flag.dataSync()[0]).toBe(0)
      expect(b.finite.onDevice(finiteTree()).dataSync()[0]).toBe(1)
      expect(Array.from(b.roundHalf?.(tf.tensor1d([1 + 2 ** -11, 1 + 2 ** -9]), 'float16').dataSync() ?? [])).toEqual([1, 1 + 2 ** -9])
    })
    expect(tf.memory().numTensors).toBe(before)
    expect(b.kernels.adam).toBeTypeOf('function')
  })

  it("a backend's Adam kernel runs only while its backend is current (tfjs dispatches to the current one)", () => {
    const attrs = { b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, k1: 0.1, k2: 0.001, eps: 1e-8 }
    cpu.activate()
    const leaves = [tf.tensor1d([0.5, -1]), tf.zeros([2]), tf.zeros([2])] as const
    const onCpu = cpu.kernels.adam?.(...leaves, attrs)
    expect(onCpu).toHaveLength(3)
    expect(wasm.kernels.adam?.(...leaves, attrs)).toBeUndefined()
    tf.dispose([...leaves, ...(onCpu ?? [])])
  })

  it('without synchronous reads (as webgpu in Node): no host check, rounding on the device, and a half policy only where a rounding exists', () => {
    cpu.activate()
    const slow = withoutHostReads(cpu)
    expect(slow.hostReads).toBe(false)
    expect(slow.finite.onHost).toBeUndefined()
    // cpu has the device rounding kernel (the same bits as the host rounding): half policies run.
    expect(slow.roundHalf).toBe(deviceCastHalf)
    expect(() => slow.readScalars([])).toThrow(/no synchronous reads/)
    tf.tidy(() => {
      expect(slow.finite.onDevice(nanTree()).dataSync()[0]).toBe(0)
    })
    expect(slow.kernels).toBe(cpu.kernels)
    expect(resolvePrecision('32-true', undefined, slow)).toBe(float32Precision)
    for (const name of ['16-mixed', 'bf16-mixed', '16-true', 'bf16-true'] as const) {
      expect(resolvePrecision(name, undefined, slow).finite).toBe(slow.finite)
      let error: unknown
      try {
        resolvePrecision(name, undefined, { name: 'webgpu' })
      } catch (e) {
        error = e
      }
      expect(isRxtrainError(error) && error.tag).toBe('ConfigError')
      expect(isRxtrainError(error) && error.problem).toContain(`precision '${name}' rounds values to a half format, which the webgpu backend cannot do`)
      expect(isRxtrainError(error) && error.remedy).toContain("precision: '32-true'")
    }
  })

  it("a half policy rounds with the backend's own rounding, in the step and in the stored state", () => {
    const seen: string[] = []
    const round: HalfRounding = (x, format) => {
      seen.push(format)
      return tf.mul(x, 2)
    }
    const policy = resolvePrecision('bf16-true', undefined, { name: 'cpu', roundHalf: round })
    tf.tidy(() => {
      expect(Array.from(policy.castCompute(tf.tensor1d([1.5])).dataSync())).toEqual([3])
      const stored = policy.storeState({ w: tf.tensor1d([1]), steps: tf.scalar(2, 'int32') })
      expect(Array.from(stored.w.dataSync())).toEqual([2])
      expect(stored.steps.dtype).toBe('int32')
    })
    expect(seen).toEqual(['bfloat16', 'bfloat16'])
  })
})

describe("optimizers take the backend's kernels and finiteness check from the update's context", () => {
  const params = (): Params => ({ w: tf.tensor2d([[1, -2], [3, 4]]), b: tf.tensor1d([0.5]) })
  const grads = (): Params => ({ w: tf.tensor2d([[0.1, -0.2], [0.3, 1e-4]]), b: tf.tensor1d([-2]) })

  /** A context whose Adam kernel is cpu's own, counting the leaves it is asked for. */
  const counting = (): { ctx: UpdateContext; calls: () => number } => {
    let calls = 0
    const adamKernel: FusedAdam = (g, mu, nu, attrs) => {
      calls++
      return cpu.kernels.adam?.(g, mu, nu, attrs)
    }
    return { ctx: { name: 'cpu', kernels: { adam: adamKernel }, finite: cpu.finite }, calls: () => calls }
  }

  it("adam runs the context's kernel on every leaf, bitwise as op by op; without a context, or with fused: false or epsRoot, it runs the ops", () => {
    cpu.activate()
    tf.tidy(() => {
      const p = params()
      const run = (optimizer: ReturnType<typeof adam>, ctx?: UpdateContext) => {
        const [updates, state] = optimizer.update(grads(), optimizer.init(p), p, ctx)
        const [again] = optimizer.update(grads(), state, p, ctx)
        return [...leafBits(updates), ...leafBits(again)]
      }
      const { ctx, calls } = counting()
      const fused = run(adam({ lr: 0.1 }), ctx)
      expect(calls()).toBe(4)
      expect(run(adam({ lr: 0.1 }))).toEqual(fused)
      expect(run(adam({ lr: 0.1, fused: false }), ctx)).toEqual(fused)
      expect(run(chain(scaleByAdam({ epsRoot: 1e-12 }), scaleByLearningRate(0.1)), ctx)).not.toEqual(fused)
      expect(calls()).toBe(4)
    })
  })

  it('withUpdateContext gives the context to every update through chain, accumulateGradients and applyIfFinite', () => {
    cpu.activate()
    tf.tidy(() => {
      const p = params()
      const { ctx, calls } = counting()
      const optimizer = withUpdateContext(applyIfFinite(accumulateGradients(1, chain(scaleByAdam(), scaleByLearningRate(0.1)))), ctx)
      const [, state] = optimizer.update(grads(), optimizer.init(p), p)
      expect(calls()).toBe(2)
      expect(state.lastFinite).toBe(true)
      // A context given to the call is merged over the bound one (a grouped step adds its
      // `group`): the fields it gives win, and the bound kernels stay for the rest.
      optimizer.update(grads(), state, p, {})
      expect(calls()).toBe(4)
      optimizer.update(grads(), state, p, counting().ctx)
      expect(calls()).toBe(4)
    })
  })

  it("applyIfFinite asks the context's finiteness check; without host reads it selects on the device and leaves its decision to the step", () => {
    cpu.activate()
    tf.tidy(() => {
      const p = params()
      const asked: number[] = []
      const guarded = applyIfFinite(scaleByLearningRate(1))
      const onHost = (tree: Params) => {
        asked.push(flattenParams(tree).length)
        return false
      }
      const [updates, state] = guarded.update(grads(), guarded.init(p), p, { finite: { onDevice: cpu.finite.onDevice, onHost } })
      expect(asked).toEqual([2])
      expect(state.totalNotFinite).toBe(1)
      expect(flattenParams(updates).every((l) => l.tensor.dataSync().every((v) => v === 0))).toBe(true)
      // No host read: the updates are selected on the device (the flag says finite here), the
      // counters are provisional, and the decision is left for the step to take.
      const slow = withoutHostReads(cpu)
      const [selected, provisional] = guarded.update(grads(), guarded.init(p), p, { ...slow, name: 'webgpu' })
      expect(provisional.totalNotFinite).toBe(0)
      expect(flattenParams(selected).map((l) => Array.from(l.tensor.dataSync()))).toEqual(flattenParams(grads()).map((l) => Array.from(l.tensor.dataSync(), (v) => -v)))
      const taken = takePending(provisional)
      expect(taken).toHaveLength(1)
      expect(taken[0]?.decision.flag.dataSync()[0]).toBe(1)
      expect(taken[0]?.decision.hostIfNotFinite).toMatchObject({ notFiniteCount: 1, lastFinite: false, totalNotFinite: 1 })
      expect(takePending(provisional)).toHaveLength(0)
    })
  })
})

describe('precision', () => {
  it("'32-true' is the identity on losses and gradients and keeps a unit scale", () => {
    expect(resolvePrecision('32-true')).toBe(float32Precision)
    const loss = tf.scalar(3)
    const grads = { w: tf.ones([2]) }
    const s = float32Precision.initScale()
    expect(float32Precision.scaleLoss(loss, s)).toBe(loss)
    expect(float32Precision.unscale(grads, s)).toBe(grads)
    expect(float32Precision.nextScale(s, false)).toEqual({ scale: 1, goodSteps: 0 })
    expect(float32Precision.storageDtype).toBe('float32')
    tf.dispose([loss, grads.w])
  })

  it('storageDtypeOf gives the storage dtype of each policy without building it', () => {
    expect(precisionNames.map(storageDtypeOf)).toEqual(precisionNames.map((n) => resolvePrecision(n).storageDtype))
    expect(precisionNames.map(storageDtypeOf)).toEqual(['float32', 'float32', 'float32', 'float16', 'bfloat16'])
  })
})
