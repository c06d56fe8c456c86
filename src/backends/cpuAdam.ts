import type * as tf from '@tensorflow/tfjs-core'
import { type FusedAdam, type FusedAdamAttrs, type FusedAdamStep, registerFusedAdam, registerFusedAdamStep } from './fusedAdam.js'

/** What the kernels need of tfjs-backend-cpu 4.22's backend object. */
interface CpuBackendInternals {
  readonly data: { get(dataId: object): { readonly values: Float32Array } }
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo
}

const f = Math.fround

/**
 * Adam over one leaf's values: writes the new moments into `mo` and `vo` and hands each element's
 * update to `put`. `Math.fround` after every operation rounds as the cpu backend's float32 arrays
 * do, so the results are bitwise those of the ops.
 */
const adamLoop = (gv: Float32Array, mv: Float32Array, vv: Float32Array, a: FusedAdamAttrs, mo: Float32Array, vo: Float32Array, put: (i: number, update: number) => void): void => {
  const [b1, c1, b2, c2, k1, k2, eps] = [f(a.b1), f(a.c1), f(a.b2), f(a.c2), f(a.k1), f(a.k2), f(a.eps)]
  for (let i = 0; i < gv.length; i++) {
    const gi = gv[i] as number
    const m = f(f((mv[i] as number) * b1) + f(gi * c1))
    const v = f(f((vv[i] as number) * b2) + f(f(gi * gi) * c2))
    mo[i] = m
    vo[i] = v
    put(i, f(f(m / k1) / f(f(Math.sqrt(f(v / k2))) + eps)))
  }
}

const sizeOf = (t: tf.TensorInfo): number => t.shape.reduce((a, b) => a * b, 1)

const valuesOf = (backend: unknown, t: tf.TensorInfo): Float32Array => (backend as CpuBackendInternals).data.get(t.dataId).values

/**
 * Registers the fused Adam kernel for the cpu backend: one JavaScript loop instead of twelve
 * kernels that each allocate a result, bitwise the same numbers. Returns the step for the cpu
 * backend's record (`kernels.adam`).
 */
export const registerCpuAdam = (): FusedAdam =>
  registerFusedAdam('cpu', ({ g, mu, nu }, a, backend) => {
    const n = sizeOf(g)
    const [mo, vo, uo] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
    adamLoop(valuesOf(backend, g), valuesOf(backend, mu), valuesOf(backend, nu), a, mo, vo, (i, u) => {
      uo[i] = u
    })
    return [mo, vo, uo].map((values) => (backend as CpuBackendInternals).makeTensorInfo([...g.shape], 'float32', values))
  })

/**
 * Registers the fused Adam step (Adam, its learning rate and the parameter's update) for the cpu
 * backend: `param + update scale` rounded as `tf.add(param, tf.mul(update, scale))` rounds, so the
 * new parameters are bitwise those of `optim.adam` and `applyUpdates`. Returns the step for the
 * cpu backend's record (`kernels.adamStep`).
 */
export const registerCpuAdamStep = (): FusedAdamStep =>
  registerFusedAdamStep('cpu', ({ g, mu, nu, param }, a, backend) => {
    const n = sizeOf(g)
    const [mo, vo, po] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
    const pv = valuesOf(backend, param)
    const scale = f(a.scale)
    adamLoop(valuesOf(backend, g), valuesOf(backend, mu), valuesOf(backend, nu), a, mo, vo, (i, u) => {
      po[i] = f((pv[i] as number) + f(u * scale))
    })
    return [mo, vo, po].map((values) => (backend as CpuBackendInternals).makeTensorInfo([...g.shape], 'float32', values))
  })
