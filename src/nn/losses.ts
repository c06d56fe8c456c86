import * as tf from '@tensorflow/tfjs-core'
import { SOFTMAX_CROSS_ENTROPY } from '../backends/fusedKernelNames.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { checkClassIds } from './classIds.js'
import { shapeError, showShape } from './shapes.js'

/**
 * Loss functions: pure maps from predictions and targets to a scalar mean, to be differentiated
 * by the training step. Shapes must match exactly (no broadcasting), because a silently
 * broadcast `[batch, 1]` against `[batch]` gives a wrong loss that still trains.
 */

const expectSameShape = (loss: string, pred: tf.Tensor, target: tf.Tensor): void => {
  if (pred.shape.length !== target.shape.length || pred.shape.some((d, i) => d !== target.shape[i]))
    throw rxtrainError(
      'ShapeError',
      `${loss} expects predictions and targets of the same shape, got ${showShape(pred.shape)} and ${showShape(target.shape)}`,
      'reshape one of them (e.g. targets [batch] against predictions [batch, 1]: tf.reshape(targets, [-1, 1])).',
      { loss, predictions: pred.shape, targets: target.shape },
    )
}

/**
 * Options of `softmaxCrossEntropy`.
 *
 * @example
 * const options: nn.SoftmaxCrossEntropyOptions = { labelSmoothing: 0.1 }
 * const loss = nn.softmaxCrossEntropy(logits, labels, options)
 */
export interface SoftmaxCrossEntropyOptions {
  /**
   * Mixes the one-hot target with the uniform distribution: target = (1 − s)·onehot + s/classes
   * (Keras' and PyTorch's definition). Default 0.
   */
  readonly labelSmoothing?: number
}

/**
 * The fused kernel's loss (contract C4) with its gradient dy · dlogits: one kernel (one dispatch
 * on webgpu) for the forward pass and the softmax part of the backward one.
 */
const fusedSoftmaxCrossEntropy = (logits2d: tf.Tensor, ids: tf.Tensor): tf.Scalar =>
  tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc]
    const [loss, dlogits] = tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits: x, labels: ids }, {}) as [tf.Scalar, tf.Tensor]
    save([dlogits])
    return { value: loss, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0] as tf.Tensor) }
  })(logits2d) as tf.Scalar

/** Class ids as an int32 vector, the same tensor when they are one already. */
const asIdVector = (labels: tf.Tensor): tf.Tensor => {
  const ids = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32')
  return ids.rank === 1 ? ids : tf.reshape(ids, [-1])
}

/**
 * Softmax cross-entropy from logits, averaged over the batch: mean(−Σ_c target_c · logSoftmax(logits)_c).
 * `labels` are either class ids (`[batch]`, int32; float ids are cast) or target distributions
 * of the logits' shape (`[batch, classes]`, e.g. one-hot). Leading dimensions beyond the batch
 * (`[batch, time, classes]`) are averaged too.
 *
 * It multiplies a one-hot mask with log-probabilities instead of gathering them, so its gradient
 * needs no `gather` gradient (slow on wasm, which lacks the kernel); the gradient w.r.t. the logits is
 * (softmax − target) / batch. An id outside [0, classes) (7 with four classes, or -1) is a
 * `DataError` that names it, where `tf.oneHot` alone would give an all-zero target and train on
 * silently; the ids are checked on the host on cpu, wasm and tensorflow (a copy of one int per
 * example), not on webgpu, where that read would synchronise with the device.
 *
 * With class ids and no smoothing, on a backend that registers the fused kernel
 * `RxtrainSoftmaxCrossEntropy` (webgpu; wasm where it has one), the loss and its gradient come
 * from that one kernel instead of some twenty ops: the same formula, equal to the op path within
 * 1e-6 (its exp, log and sums round differently), not bit for bit.
 *
 * @example
 * const loss = nn.softmaxCrossEntropy(logits, labels)               // labels: int32 [batch]
 * const smooth = nn.softmaxCrossEntropy(logits, labels, { labelSmoothing: 0.1 })
 */
export const softmaxCrossEntropy = (
  logits: tf.Tensor,
  labels: tf.Tensor,
  options: SoftmaxCrossEntropyOptions = {},
): tf.Scalar => {
  const smoothing = options.labelSmoothing ?? 0
  if (!(smoothing >= 0 && smoothing <= 1))
    throw rxtrainError('ConfigError', `softmaxCrossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`, 'use e.g. { labelSmoothing: 0.1 }.', {
      labelSmoothing: smoothing,
    })
  const classes = logits.shape.at(-1)
  const idShape = logits.shape.slice(0, -1)
  const isIds = labels.rank === logits.rank - 1 && labels.shape.every((d, i) => d === idShape[i])
  const isDistribution = labels.rank === logits.rank && labels.shape.every((d, i) => d === logits.shape[i])
  if (classes === undefined || logits.rank < 2 || !(isIds || isDistribution))
    throw shapeError(
      'softmaxCrossEntropy',
      ['batch', 'classes'],
      logits.shape,
      `give logits [batch, classes] with labels as class ids [batch] or one-hot [batch, classes]; labels have shape ${showShape(labels.shape)}.`,
    )
  if (isIds) checkClassIds('softmaxCrossEntropy', labels, classes)
  if (isIds && smoothing === 0 && logits.dtype === 'float32' && logits.size > 0 && tf.getKernel(SOFTMAX_CROSS_ENTROPY, tf.getBackend()) !== undefined)
    // Rows of classes and int32 ids as they usually come: no Reshape or Cast kernels for nothing.
    return fusedSoftmaxCrossEntropy(logits.rank === 2 ? logits : tf.reshape(logits, [-1, classes]), asIdVector(labels))
  const oneHot = isIds ? tf.oneHot(tf.cast(labels, 'int32'), classes, 1, 0, 'float32') : tf.cast(labels, 'float32')
  const target = smoothing === 0 ? oneHot : tf.add(tf.mul(oneHot, 1 - smoothing), smoothing / classes)
  const perExample = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), -1))
  return tf.mean(perExample)
}

/**
 * Binary cross-entropy from logits, averaged over all elements. Uses the stable form
 * softplus(x) − x·z (= max(x, 0) − x·z + log(1 + e^(−|x|))), which neither overflows for large
 * |x| nor loses the gradient sigmoid(x) − z at x = 0. Targets z may be soft (in [0, 1]).
 *
 * @example
 * nn.sigmoidBinaryCrossEntropy(tf.tensor([[0]]), tf.tensor([[1]])) // log 2 ≈ 0.6931
 */
export const sigmoidBinaryCrossEntropy = (logits: tf.Tensor, targets: tf.Tensor): tf.Scalar => {
  expectSameShape('sigmoidBinaryCrossEntropy', logits, targets)
  return tf.mean(tf.sub(tf.softplus(logits), tf.mul(logits, tf.cast(targets, 'float32'))))
}

/**
 * Mean squared error over all elements: mean((pred − target)²).
 *
 * @example
 * nn.meanSquaredError(tf.tensor([1, 2]), tf.tensor([0, 0])) // (1 + 4) / 2 = 2.5
 */
export const meanSquaredError = (pred: tf.Tensor, target: tf.Tensor): tf.Scalar => {
  expectSameShape('meanSquaredError', pred, target)
  return tf.mean(tf.squaredDifference(pred, target))
}

/**
 * Mean absolute error over all elements: mean(|pred − target|).
 *
 * @example
 * nn.meanAbsoluteError(tf.tensor([1, -2]), tf.tensor([0, 0])) // (1 + 2) / 2 = 1.5
 */
export const meanAbsoluteError = (pred: tf.Tensor, target: tf.Tensor): tf.Scalar => {
  expectSameShape('meanAbsoluteError', pred, target)
  return tf.mean(tf.abs(tf.sub(pred, target)))
}

/**
 * Huber loss averaged over all elements (PyTorch's `HuberLoss`, Keras' `Huber`): with e = pred − target,
 * 0.5·e² where |e| ≤ delta and delta·(|e| − 0.5·delta) beyond: quadratic near the target,
 * linear (robust to outliers) far from it.
 *
 * @example
 * nn.huberLoss(tf.tensor([0.5, 3]), tf.tensor([0, 0])) // (0.125 + 2.5) / 2 = 1.3125
 */
export const huberLoss = (pred: tf.Tensor, target: tf.Tensor, delta = 1): tf.Scalar => {
  expectSameShape('huberLoss', pred, target)
  if (!(delta > 0))
    throw rxtrainError('ConfigError', `huberLoss: delta must be positive, got ${delta}`, 'use e.g. huberLoss(pred, target, 1).', { delta })
  // Keras' branch-free form 0.5·q² + delta·(|e| − q), q = min(|e|, delta): equal to the two
  // branches, and differentiable by tfjs (a `where` on a comparison is not: LessEqual has no gradient).
  const absError = tf.abs(tf.sub(pred, target))
  const quadratic = tf.minimum(absError, delta)
  return tf.mean(tf.add(tf.mul(tf.square(quadratic), 0.5), tf.mul(tf.sub(absError, quadratic), delta)))
}
