import * as tf from '@tensorflow/tfjs-core'
import { SOFTMAX_CROSS_ENTROPY } from './fusedKernelNames.js'
import { runWgsl, type WgslKernel } from './webgpuProgram.js'

const WORKGROUP = 64

/**
 * Softmax cross-entropy and its gradient in one dispatch (contract C4), where the op path runs
 * about twenty (max, subtract, exp, sum, log, one-hot, multiply, sum, negate, mean and their
 * gradients). One workgroup: each invocation takes rows `lid, lid + 64, ...`, writes their
 * gradient rows and adds their losses; the workgroup then sums the 64 partial losses (a tree,
 * so the mean differs from the op path's in the last bits only). One workgroup keeps the mean in
 * the same dispatch; it suits the batches of a classifier's head (rows in the thousands), not a
 * language model's [batch·time, vocabulary] logits.
 */
const crossEntropyKernel: WgslKernel = {
  name: 'RxtrainSoftmaxCrossEntropyProgram',
  inputs: ['logits', 'labels'],
  int: ['labels'],
  outputs: ['loss', 'dlogits'],
  workgroupSize: WORKGROUP,
  prelude: `var<workgroup> partial: array<f32, ${WORKGROUP}>;`,
  body: `
  let n = paramU(0u);
  let c = paramU(1u);
  let rows = f32(n);
  var acc: f32 = 0.0;
  for (var r = lid; r < n; r = r + ${WORKGROUP}u) {
    let base = r * c;
    var mx = logits[base];
    for (var j = 1u; j < c; j = j + 1u) { mx = max(mx, logits[base + j]); }
    var s: f32 = 0.0;
    for (var j = 0u; j < c; j = j + 1u) { s = s + exp(logits[base + j] - mx); }
    let label = u32(labels[r]);
    for (var j = 0u; j < c; j = j + 1u) {
      let p = exp(logits[base + j] - mx) / s;
      dlogits[base + j] = (p - select(0.0, 1.0, j == label)) / rows;
    }
    acc = acc + (log(s) - (logits[base + label] - mx));
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {
    if (lid < half) { partial[lid] = partial[lid] + partial[lid + half]; }
    workgroupBarrier();
  }
  if (lid == 0u) { loss[0] = partial[0] / rows; }`,
}

/** Registers the fused softmax cross-entropy kernel (`RxtrainSoftmaxCrossEntropy`) for the webgpu backend (once). */
export const registerWebGpuCrossEntropy = (): void => {
  if (tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'webgpu') !== undefined) return
  tf.registerKernel({
    kernelName: SOFTMAX_CROSS_ENTROPY,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { logits, labels } = inputs as { logits: tf.TensorInfo; labels: tf.TensorInfo }
      const [n, c] = logits.shape as [number, number]
      if (n === 0 || c === 0) throw new Error(`${SOFTMAX_CROSS_ENTROPY} needs at least one row and one class, got logits ${JSON.stringify(logits.shape)}`)
      return runWgsl(backend, crossEntropyKernel, [logits, labels], [[], [n, c]], [{ u32: n }, { u32: c }], 1)
    },
  })
}
