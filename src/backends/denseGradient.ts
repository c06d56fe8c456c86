import * as tf from '@tensorflow/tfjs-core'
import { DENSE, DENSE_BACKWARD } from './fusedKernelNames.js'

/** The attributes of the fused dense kernels (`RxtrainDense`, `RxtrainDenseBackward`). */
export interface DenseAttrs {
  /** The activation after the affine map (the only two whose gradient the kernels compute). */
  readonly activation: 'linear' | 'relu'
  /** Whether the inputs include a bias (its gradient is then computed). */
  readonly hasBias: boolean
}

/**
 * The gradient of `RxtrainDense`, the same on every backend that registers the kernel:
 * `RxtrainDenseBackward` gives the gradient before the activation (dz) and the bias gradient,
 * then the two matrix products of tfjs's own BatchMatMul gradient (dz · bᵀ, aᵀ · dz), each only
 * when the tape needs it. Registered once (idempotent).
 */
export const registerDenseGradient = (): void => {
  if (tf.getGradient(DENSE) !== undefined) return
  tf.registerGradient({
    kernelName: DENSE,
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [a, b, y] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
      const { activation, hasBias } = attrs as unknown as DenseAttrs
      const d = dy as tf.Tensor
      const parts = activation === 'linear' && !hasBias ? [] : (tf.engine().runKernel(DENSE_BACKWARD, { dy: d, y }, { activation, hasBias } as unknown as tf.NamedAttrMap) as tf.Tensor[])
      const dz = activation === 'relu' ? (parts[0] as tf.Tensor) : d
      const dbias = parts.at(-1)
      return { a: () => tf.matMul(dz, b, false, true), b: () => tf.matMul(a, dz, true, false), ...(dbias !== undefined && { bias: () => dbias }) }
    },
  })
}
