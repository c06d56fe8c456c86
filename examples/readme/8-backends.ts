import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { agreement, key, nn, selectBackend } from 'rxtrain'

// The same computation on two backends: a dense layer's output and its gradients.
const layer = nn.dense({ units: 4, activation: 'gelu' })
const step = () => {
  const { params, state } = layer.init(key(0), [8])
  const x = tf.tensor2d(Array.from({ length: 16 }, (_, i) => Math.sin(i)), [2, 8])
  const loss = (kernel: tf.Tensor) => tf.sum(layer.apply({ params: { ...params, kernel }, state }, x, { training: false, key: key(1) }).y)
  return tf.valueAndGrad(loss)(params.kernel)
}

const [wasm, cpu] = [await selectBackend('wasm')(), await selectBackend('cpu')()]
if (E.isRight(wasm) && E.isRight(cpu)) {
  const a = await agreement(wasm.right.backend, cpu.right.backend, step, { atol: 1e-5, rtol: 1e-4 })
  console.log(a.agrees, a.maxAbsDiff < 1e-5)
}
