import type * as tf from '@tensorflow/tfjs-core'
import { type FusedAdam, registerFusedAdam } from './fusedAdam.js'

/** What the kernel needs of tfjs-backend-cpu 4.22's backend object. */
interface CpuBackendInternals {
  readonly data: { get(dataId: object): { readonly values: Float32Array } }
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo
}

const f = Math.fround

/**
 * Registers the fused Adam kernel for the cpu backend: one JavaScript loop instead of twelve
 * kernels that each allocate a result. `Math.fround` after every operation rounds as the cpu
 * backend's float32 arrays do, so the results are bitwise those of the ops. Returns the step for
 * the cpu backend's record (`kernels.adam`).
 */
export const registerCpuAdam = (): FusedAdam =>
  registerFusedAdam('cpu', ({ g, mu, nu }, a, backend) => {
    const cpu = backend as CpuBackendInternals
    const [b1, c1, b2, c2, k1, k2, eps] = [f(a.b1), f(a.c1), f(a.b2), f(a.c2), f(a.k1), f(a.k2), f(a.eps)]
    const [gv, mv, vv] = [cpu.data.get(g.dataId).values, cpu.data.get(mu.dataId).values, cpu.data.get(nu.dataId).values]
    const n = gv.length
    const [mo, vo, uo] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
    for (let i = 0; i < n; i++) {
      const gi = gv[i] as number
      const m = f(f((mv[i] as number) * b1) + f(gi * c1))
      const v = f(f((vv[i] as number) * b2) + f(f(gi * gi) * c2))
      mo[i] = m
      vo[i] = v
      uo[i] = f(m / k1) / f(f(Math.sqrt(f(v / k2))) + eps)
    }
    return [mo, vo, uo].map((values) => cpu.makeTensorInfo([...g.shape], 'float32', values))
  })
