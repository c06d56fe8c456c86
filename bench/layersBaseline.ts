/**
 * (b) tfjs-layers `model.fit` as tfjs ships it: run in its own process, on a backend initialised
 * directly (none of rxtrain's wasm kernel corrections registered). Prints one JSON line:
 * `{ samplesPerSecond, loss }` or `{ error }`. Run by bench/main.ts.
 */
import '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { loadMnistPackage } from '../src/data/mnist.js'
import { nodeFileSystem } from '../src/effects/nodeFileSystem.js'
import { cnn, layersFit, mlp } from './workloads.js'

const [workload, backend, stepsText, repsText] = process.argv.slice(2)
const w = workload === 'cnn' ? cnn : mlp
const steps = Number(stepsText)
const reps = Number(repsText)
tf.env().set('PROD', true)
await tf.setBackend(backend as string)
await tf.ready()
const arrays = await loadMnistPackage(nodeFileSystem)()
if (E.isLeft(arrays)) throw arrays.left
try {
  await layersFit(w, arrays.right, Math.min(3, steps))
  const runs: { seconds: number; loss: number }[] = []
  for (let r = 0; r < reps; r++) runs.push(await layersFit(w, arrays.right, steps))
  const seconds = runs.map((r) => r.seconds).sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number
  process.stdout.write(`${JSON.stringify({ samplesPerSecond: (steps * w.batchSize) / seconds, loss: runs.at(-1)?.loss })}\n`)
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message.split('\n')[0] })}\n`)
}
process.exit(0)
