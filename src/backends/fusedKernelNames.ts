/**
 * Names of rxtrain's fused kernels that layers and losses in `nn` look up on the engine's current
 * backend (`tf.getKernel(name, tf.getBackend())`), so that a backend offers one by registering it
 * and every other backend keeps the op path unchanged. Kept apart from the kernels themselves so
 * that `nn` imports a name, not a backend's code.
 */

/**
 * Softmax cross-entropy with its gradient (issue 19, contract C4): inputs `{ logits: float32
 * [n, c], labels: int32 [n] }` (class ids, already range-checked), no attributes; outputs
 * `[loss: float32 scalar, the mean over rows of −log softmax(logits)[label]; dlogits: float32
 * [n, c] = (softmax(logits) − onehot(label)) / n]`.
 */
export const SOFTMAX_CROSS_ENTROPY = 'RxtrainSoftmaxCrossEntropy'

/**
 * A dense layer's affine map and activation in one kernel: inputs `{ a: [m, k], b: [k, n],
 * bias?: [n] }`, attribute `activation` (`'linear'` or `'relu'`); output `activation(a · b + bias)`
 * [m, n]. Its gradient needs `DENSE_BACKWARD` on the same backend.
 */
export const DENSE = 'RxtrainDense'

/**
 * The part of the dense kernel's gradient that is not a matrix product: inputs `{ dy: [m, n],
 * y: [m, n] }` (y the forward output), attribute `activation`; outputs `[dz: [m, n] the gradient
 * before the activation, dbias: [n] its column sums]` (`dz` is `dy` itself, not computed, for
 * `'linear'`: the output is then only `[dbias]`).
 */
export const DENSE_BACKWARD = 'RxtrainDenseBackward'
