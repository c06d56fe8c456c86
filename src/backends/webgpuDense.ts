import * as tf from '@tensorflow/tfjs-core'
import { type DenseAttrs, registerDenseGradient } from './denseGradient.js'
import { DENSE, DENSE_BACKWARD } from './fusedKernelNames.js'
import { runWgsl, type WgslKernel, workgroupsFor } from './webgpuProgram.js'

const WORKGROUP = 64

/** The activations the fused dense kernel takes (those whose gradient it computes). */
export type DenseActivation = DenseAttrs['activation']

/**
 * The dense gradient's elementwise part in one dispatch: one invocation per column walks the
 * rows, writes dz = dy · [y > 0] (relu) and sums the column into dbias. tfjs runs Step, Multiply,
 * a Transpose and a Sum for it (a sum over the batch axis transposes first on webgpu).
 */
const backwardKernel = (activation: DenseActivation): WgslKernel => ({
  name: `RxtrainDenseBackward${activation === 'relu' ? 'Relu' : 'Linear'}Program`,
  inputs: activation === 'relu' ? ['dy', 'y'] : ['dy'],
  outputs: activation === 'relu' ? ['dbias', 'dz'] : ['dbias'],
  workgroupSize: WORKGROUP,
  body: `
  let m = paramU(0u);
  let n = paramU(1u);
  for (var col = gid.x; col < n; col = col + nwg.x * ${WORKGROUP}u) {
    var acc: f32 = 0.0;
    for (var r = 0u; r < m; r = r + 1u) {
      let i = r * n + col;
      ${activation === 'relu' ? 'let d = select(0.0, dy[i], y[i] > 0.0);\n      dz[i] = d;' : 'let d = dy[i];'}
      acc = acc + d;
    }
    dbias[col] = acc;
  }`,
})

const kernels = { relu: backwardKernel('relu'), linear: backwardKernel('linear') }

/**
 * Registers the fused dense kernels for the webgpu backend (once): `RxtrainDense` is tfjs's own
 * `_FusedMatMul` (the matrix product with bias and activation in one dispatch) under rxtrain's
 * name, so that its gradient is rxtrain's: `RxtrainDenseBackward` (one dispatch) and the two
 * matrix products, only those the tape needs (no input gradient for a first layer).
 */
export const registerWebGpuDense = (): void => {
  if (tf.getKernel(DENSE, 'webgpu') !== undefined) return
  const fusedMatMul = tf.getKernel('_FusedMatMul', 'webgpu')
  if (fusedMatMul === undefined) return
  tf.registerKernel({
    kernelName: DENSE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { activation } = attrs as unknown as DenseAttrs
      return fusedMatMul.kernelFunc({ inputs, backend, attrs: { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0 } })
    },
  })
  tf.registerKernel({
    kernelName: DENSE_BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo }
      const { activation } = attrs as unknown as DenseAttrs
      const [m, n] = dy.shape as [number, number]
      const [dbias, dz] = runWgsl(backend, kernels[activation], activation === 'relu' ? [dy, y] : [dy], activation === 'relu' ? [[n], [m, n]] : [[n]], [{ u32: m }, { u32: n }], workgroupsFor(n, WORKGROUP))
      return dz === undefined ? [dbias as tf.TensorInfo] : [dz, dbias as tf.TensorInfo]
    },
  })
  registerDenseGradient()
}
