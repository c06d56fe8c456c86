import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { loadParams } from '../../src/checkpoint/loadParams.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { collectPredictions } from '../../src/hooks/collectPredictions.js'
import { evalMetrics } from '../../src/hooks/evalMetrics.js'
import type { Model } from '../../src/nn/layer.js'
import { predict, test, validate } from '../../src/pipeline/evaluate.js'
import { fit } from '../../src/pipeline/fit.js'
import { key } from '../../src/random/key.js'
import { disposeTree } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

describe("validate, test and predict honour ckptPath (Lightning's trainer.test(ckpt_path='best'))", () => {
  const data = tinyData(6, 3)
  const options = { maxEpochs: 4, defaultRootDir: '/run', seed: 2 }
  const trained = async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(lineModule(0.3), data, options, { backend, fs, signals: quiet }).pipe(checkpoint({ monitor: 'val/loss', saveTopK: 1, saveLast: true })))
    return fs
  }
  const env = (fs: ReturnType<typeof memoryFileSystem>) => ({ backend, fs, signals: quiet })
  const load = async (fs: ReturnType<typeof memoryFileSystem>, path: string): Promise<Model> => {
    const loaded = await loadParams(path, { fs })()
    if (loaded._tag === 'Left') throw loaded.left
    return loaded.right
  }

  it("evaluates the checkpoint's variables instead of the given ones, and releases them", async () => {
    const fs = await trained()
    const best = await load(fs, '/run/checkpoints/best')
    const untrained = lineModule().init(key(0))
    const expectedTest = (await lastValueFrom(test(lineModule(), best, data, {}, env(fs)).pipe(evalMetrics())))['test/loss']
    const expectedVal = (await lastValueFrom(validate(lineModule(), best, data, {}, env(fs)).pipe(evalMetrics())))['val/loss']
    const untrainedTest = (await lastValueFrom(test(lineModule(), untrained, data, {}, env(fs)).pipe(evalMetrics())))['test/loss']
    const before = tf.memory().numTensors
    const fromBest = await lastValueFrom(test(lineModule(), untrained, data, { ...options, ckptPath: 'best' }, env(fs)).pipe(evalMetrics()))
    const fromPath = await lastValueFrom(validate(lineModule(), undefined, data, { ...options, ckptPath: '/run/checkpoints/best' }, env(fs)).pipe(evalMetrics()))
    expect(tf.memory().numTensors).toBe(before)
    expect(fromBest['test/loss']).toBe(expectedTest)
    expect(fromBest['test/loss']).not.toBe(untrainedTest)
    expect(fromPath['val/loss']).toBe(expectedVal)
    disposeTree([best, untrained])
  })

  it("predict with ckptPath: 'last' predicts with the last checkpoint", async () => {
    const fs = await trained()
    const last = await load(fs, '/run/checkpoints/last')
    const expected = await lastValueFrom(predict(lineModule(), last, data, {}, env(fs)).pipe(collectPredictions()))
    const got = await lastValueFrom(predict(lineModule(), undefined, data, { ...options, ckptPath: 'last' }, env(fs)).pipe(collectPredictions()))
    expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()))
    disposeTree([last, expected, got])
  })

  it('a missing checkpoint, or neither a model nor a ckptPath, is an error that says what to do', async () => {
    const fs = memoryFileSystem()
    await expect(lastValueFrom(test(lineModule(), undefined, data, { defaultRootDir: '/run', ckptPath: 'best' }, env(fs)))).rejects.toThrow(/CheckpointError/)
    await expect(lastValueFrom(test(lineModule(), undefined, data, {}, env(fs)))).rejects.toThrow(/ConfigError: there is nothing to evaluate: no model and no ckptPath/)
  })

  it('a checkpoint of another structure than the given model is a StructureError', async () => {
    const fs = await trained()
    const other = { params: { w: tf.zeros([2, 1]), b: tf.zeros([1]) }, state: {} }
    await expect(lastValueFrom(test(lineModule(), other, data, { ...options, ckptPath: 'best' }, env(fs)))).rejects.toThrow(/StructureError/)
    disposeTree(other)
  })
})
