import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { loadMnistPackage, mnistDataModule, type MnistArrays } from '../../src/data/mnist.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { fit } from '../../src/pipeline/fit.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { mlp } from '../../examples/mnist-mlp/train.js'
import { quiet, useBackend } from '../support/backend.js'

let cpu: Backend
let wasm: Backend
let arrays: MnistArrays
beforeAll(async () => {
  cpu = await useBackend('cpu')
  wasm = await useBackend('wasm')
  const loaded = await loadMnistPackage(nodeFileSystem)()
  if (E.isLeft(loaded)) throw loaded.left
  arrays = loaded.right
})

const maxDiff = (a: Map<string, Float32Array>, b: Map<string, Float32Array>): number => {
  let worst = 0
  for (const [path, values] of a) {
    const other = b.get(path) as Float32Array
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs((values[i] as number) - (other[i] as number)))
  }
  return worst
}

/** Trains the MNIST MLP for 50 steps on a backend and returns its parameters by path. */
const train = async (backend: Backend, maxSteps = 50): Promise<Map<string, Float32Array>> => {
  const data = mnistDataModule(arrays, { batchSize: 32, limit: 4000 })
  const model = await new Promise<import('../../src/nn/layer.js').Model>((resolve, reject) =>
    fit(mlp, data, { maxSteps, numSanityValSteps: 0, limitValBatches: 0, seed: 3 }, { backend, signals: quiet }).pipe(trainedModel()).subscribe({ next: resolve, error: reject }),
  )
  const params = new Map(flattenParams(model.params).map((l) => [l.path, l.tensor.dataSync() as Float32Array]))
  disposeTree(model)
  return params
}

describe('the same pipeline on cpu and wasm', () => {
  it('agrees to 1e-4 after 50 steps', async () => {
    const a = await train(cpu)
    const b = await train(wasm)
    expect([...b.keys()]).toEqual([...a.keys()])
    expect(maxDiff(a, b)).toBeLessThan(1e-4)
    // while training moved the parameters far more than that
    expect(maxDiff(a, await train(cpu, 0))).toBeGreaterThan(1e-2)
  })

  it('is bitwise reproducible on wasm', async () => {
    const a = await train(wasm)
    const b = await train(wasm)
    expect([...b.values()]).toEqual([...a.values()])
  })
})
