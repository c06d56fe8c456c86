import * as tf from '@tensorflow/tfjs-core'
import { type FusedAdam, type FusedAdamStep, registerFusedAdam, registerFusedAdamStep } from './fusedAdam.js'
import { runWgsl, type WgslKernel, workgroupsFor } from './webgpuProgram.js'

const WORKGROUP = 64

/**
 * One leaf's Adam step in one dispatch (instead of twelve): each operation written as the op
 * path's kernels compute it, in the same order, so the numbers agree with the op-by-op step on
 * webgpu (a GPU compiler may contract a product and a sum into one rounding, so equal within a few
 * float32 ulps, not promised bit for bit). A grid-stride loop covers leaves of any size. `last`
 * writes the third output from the update `u` (and the constants after Adam's, from `param(8u)`).
 */
const adamBody = (last: string): string => `
  let n = paramU(0u);
  let b1 = param(1u); let c1 = param(2u); let b2 = param(3u); let c2 = param(4u);
  let k1 = param(5u); let k2 = param(6u); let eps = param(7u);
  let stride = nwg.x * ${WORKGROUP}u;
  for (var i = gid.x; i < n; i = i + stride) {
    let gi = g[i];
    let m = mu[i] * b1 + gi * c1;
    let v = nu[i] * b2 + (gi * gi) * c2;
    muOut[i] = m;
    nuOut[i] = v;
    let u = (m / k1) / (sqrt(v / k2) + eps);
    ${last}
  }`

const adamKernel: WgslKernel = {
  name: 'RxtrainAdamProgram',
  inputs: ['g', 'mu', 'nu'],
  outputs: ['muOut', 'nuOut', 'update'],
  workgroupSize: WORKGROUP,
  body: adamBody('update[i] = u;'),
}

/** Adam with the learning rate's factor and the parameter's update: `paramOut = param + u scale`. */
const adamStepKernel: WgslKernel = {
  name: 'RxtrainAdamStepProgram',
  inputs: ['g', 'mu', 'nu', 'weights'],
  outputs: ['muOut', 'nuOut', 'paramOut'],
  workgroupSize: WORKGROUP,
  body: adamBody('paramOut[i] = weights[i] + u * param(8u);'),
}

/** The kernel's outputs for an empty leaf (no dispatch). */
const emptyOutputs = (backend: unknown, like: tf.TensorInfo): tf.TensorInfo[] => {
  const empty = backend as { makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo }
  return [0, 1, 2].map(() => empty.makeTensorInfo([...like.shape], 'float32', new Float32Array(0)))
}

/** Adam's constants as the dispatch's uniforms (no scalar tensor is uploaded per step). */
const adamUniforms = (n: number, a: { b1: number; c1: number; b2: number; c2: number; k1: number; k2: number; eps: number }) =>
  [{ u32: n }, { f32: a.b1 }, { f32: a.c1 }, { f32: a.b2 }, { f32: a.c2 }, { f32: a.k1 }, { f32: a.k2 }, { f32: a.eps }] as const

/**
 * Registers the fused Adam kernel (WGSL) for the webgpu backend and returns the step for its
 * record (`kernels.adam`). The step's constants travel in the dispatch's uniform buffer, so no
 * scalar tensor is uploaded per step either.
 */
export const registerWebGpuAdam = (): FusedAdam =>
  registerFusedAdam('webgpu', ({ g, mu, nu }, a, backend) => {
    const n = tf.util.sizeFromShape(g.shape)
    if (n === 0) return emptyOutputs(backend, g)
    return runWgsl(backend, adamKernel, [g, mu, nu], [g.shape, g.shape, g.shape], [...adamUniforms(n, a)], workgroupsFor(n, WORKGROUP))
  })

/**
 * Registers the fused Adam step (Adam, the learning rate and the parameter's update: one dispatch
 * per leaf instead of three) for the webgpu backend and returns it for its record (`kernels.adamStep`).
 */
export const registerWebGpuAdamStep = (): FusedAdamStep =>
  registerFusedAdamStep('webgpu', ({ g, mu, nu, param }, a, backend) => {
    const n = tf.util.sizeFromShape(g.shape)
    if (n === 0) return emptyOutputs(backend, g)
    return runWgsl(backend, adamStepKernel, [g, mu, nu, param], [g.shape, g.shape, g.shape], [...adamUniforms(n, a), { f32: a.scale }], workgroupsFor(n, WORKGROUP))
  })
