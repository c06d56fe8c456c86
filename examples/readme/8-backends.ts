import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { type Accelerator, key, nn, startBackend } from 'rxtrain'

// The same computation on two backends: a dense layer's output and its gradients.
const layer = nn.dense({ units: 4, activation: 'gelu' })
const step = () => {
  const { params, state } = layer.init(key(0), [8])
  const x = tf.tensor2d(Array.from({ length: 16 }, (_, i) => Math.sin(i)), [2, 8])
  const loss = (kernel: tf.Tensor) => tf.sum(layer.apply({ params: { ...params, kernel }, state }, x, { training: false, key: key(1) }).y)
  return tf.valueAndGrad(loss)(params.kernel)
}
const valuesOn = async (accelerator: Accelerator) => {
  const backend = await startBackend(accelerator)() // starts it and makes it the current one
  if (E.isLeft(backend)) throw backend.left
  const { value, grad } = tf.tidy(step)
  const values = [...(await value.data()), ...(await grad.data())]
  tf.dispose([value, grad])
  return { backend: backend.right.name, values }
}

const [wasm, cpu] = [await valuesOn('wasm'), await valuesOn('cpu')]
const maxAbsDiff = Math.max(...wasm.values.map((v, i) => Math.abs(v - (cpu.values[i] ?? Number.NaN))))
console.log(wasm.backend === 'wasm' && cpu.backend === 'cpu', maxAbsDiff < 1e-5)
