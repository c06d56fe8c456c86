import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FileSystem } from '../../src/effects/fileSystem.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { hasTag, rxtrainError } from '../../src/errors/rxtrainError.js'
import { layersModelArtifacts, layersModelPlan } from '../../src/export/layersModel.js'
import { MODEL_JSON_FILE, WEIGHTS_FILE, exportLayersModel } from '../../src/export/saveLayersModel.js'
import * as nn from '../../src/nn/index.js'
import type { Model, Shape } from '../../src/nn/layer.js'
import { key } from '../../src/random/key.js'
import { normal, uniform } from '../../src/random/sample.js'
import { type Params, disposeTree, mapTensors } from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const temps: string[] = []
afterAll(() => {
  for (const d of temps) nodeFs.rmSync(d, { recursive: true, force: true })
})

const run = async <A>(task: TE.TaskEither<unknown, A>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw result.left
  return result.right
}

const failure = async (task: TE.TaskEither<unknown, unknown>): Promise<unknown> => {
  const result = await task()
  if (E.isRight(result)) throw new Error('expected the task to fail')
  return result.left
}

/** An IOHandler that reads model.json and its weight files from a FileSystem, as tf.io.http would. */
const fileHandler = (fs: FileSystem, dir: string): tf.io.IOHandler => ({
  load: async () => {
    const json = JSON.parse(await run(fs.readText(`${dir}/${MODEL_JSON_FILE}`))) as tf.io.ModelJSON
    return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const specs = manifest.flatMap((group) => group.weights)
      const parts = await Promise.all(manifest.flatMap((group) => group.paths).map((p) => run(fs.readFile(`${dir}/${p}`))))
      const buffers = parts.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)
      return [specs, tf.io.concatenateArrayBuffers(buffers)]
    })
  },
})

/** Random values from a seed, so every variable (biases, norms, running statistics) is non-trivial. */
const randomize = (model: Model, seed: number): Model => {
  let i = 0
  return mapTensors(model, (t) => tf.tensor(normal(key(seed + i++), t.size, 0, 0.5), t.shape, 'float32'))
}

/** Positive running variances (a random variance may be negative). */
const withRunningVar = (state: Params, name: string, seed: number): Params => {
  const layer = state[name] as Params
  const runningVar = layer['runningVar'] as tf.Tensor
  return { ...state, [name]: { ...layer, runningVar: tf.tensor(uniform(key(seed), runningVar.size, 0.3, 3), runningVar.shape) } }
}

/** Exports `net` to a memory FS, loads it with tfjs-layers and compares predictions on `x`. */
const roundTrip = async (net: nn.SequentialLayer, inputShape: Shape, model: Model, x: tf.Tensor) => {
  const fs = memoryFileSystem()
  const before = tf.memory().numTensors
  const exported = await run(exportLayersModel(fs, 'out/tfjs', net, inputShape, model))
  expect(tf.memory().numTensors).toBe(before)
  const loaded = await tfl.loadLayersModel(fileHandler(fs, 'out/tfjs'))
  const expected = net.apply(model, x, { training: false, key: key(99) }).y
  const actual = loaded.predict(x) as tf.Tensor
  expect(actual.shape).toEqual(expected.shape)
  const diff = tf.max(tf.abs(tf.sub(actual, expected)))
  const maxDiff = diff.dataSync()[0] as number
  const json = JSON.parse(new TextDecoder().decode(fs.files.get('out/tfjs/model.json'))) as Record<string, unknown>
  tf.dispose([expected, actual, diff])
  loaded.dispose()
  return { fs, exported, maxDiff, json }
}

describe('exportLayersModel → tf.loadLayersModel', () => {
  it('an MLP with dropout and activations predicts as rxtrain does', async () => {
    const biasInit = nn.normalInit(0.5)
    const net = nn.sequential(
      nn.dense({ units: 16, activation: 'gelu', biasInit }),
      nn.dropout(0.3),
      nn.dense({ units: 12, activation: 'leakyRelu', biasInit }),
      nn.silu(),
      nn.dense({ units: 8, useBias: false, activation: 'elu' }),
      nn.leakyRelu(0.2),
      nn.dense({ units: 6, activation: 'tanh', biasInit }),
      nn.sigmoid(),
      nn.dense({ units: 4, activation: 'logSoftmax', biasInit }),
    )
    const init = net.init(key(1), [10])
    const x = tf.tensor(normal(key(2), 5 * 10, 0, 2), [5, 10])
    const { maxDiff, json, exported, fs } = await roundTrip(net, [10], init, x)
    expect(maxDiff).toBeLessThan(1e-5)
    const layers = (json['modelTopology'] as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }).config.layers
    expect(layers.map((l) => l.class_name)).toEqual([
      'Dense', 'Dropout', 'Dense', 'LeakyReLU', 'Activation', 'Dense', 'LeakyReLU', 'Dense', 'Activation', 'Dense',
    ])
    expect(layers[0]?.config).toMatchObject({ name: 'dense0', units: 16, activation: 'gelu', use_bias: true, batch_input_shape: [null, 10] })
    expect(layers[2]?.config).toMatchObject({ name: 'dense2', activation: 'linear' })
    expect(layers[3]?.config).toMatchObject({ name: 'dense2_activation', alpha: 0.01 })
    expect(layers[4]?.config).toMatchObject({ name: 'silu3', activation: 'swish' })
    expect(layers[6]?.config).toMatchObject({ name: 'leakyRelu5', alpha: 0.2 })
    expect(layers[9]?.config).toMatchObject({ activation: 'log_softmax' })
    expect(exported.weightSpecs.map((s) => s.name)).toEqual([
      'dense0/kernel', 'dense0/bias', 'dense2/kernel', 'dense2/bias', 'dense4/kernel', 'dense6/kernel', 'dense6/bias', 'dense8/kernel', 'dense8/bias',
    ])
    expect([...fs.files.keys()].sort()).toEqual(['out/tfjs/group1-shard1of1.bin', 'out/tfjs/model.json'])
    disposeTree([init, x])
  })

  it('a CNN conv → maxPool → conv → avgPool → flatten → dense predicts as rxtrain does', async () => {
    const net = nn.sequential(
      nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same', dilation: 2, activation: 'relu', biasInit: nn.normalInit(0.3) }),
      nn.maxPool2d({ poolSize: 2 }),
      nn.conv2d({ filters: 5, kernelSize: [2, 3], strides: [2, 1], activation: 'leakyRelu', biasInit: nn.normalInit(0.3) }),
      nn.avgPool2d({ poolSize: 2, strides: 1, padding: 'same' }),
      nn.flatten(),
      nn.dense({ units: 3, activation: 'softmax' }),
    )
    const init = net.init(key(3), [12, 10, 2])
    const x = tf.tensor(normal(key(4), 2 * 12 * 10 * 2), [2, 12, 10, 2])
    const { maxDiff, json } = await roundTrip(net, [12, 10, 2], init, x)
    expect(maxDiff).toBeLessThan(1e-5)
    const layers = (json['modelTopology'] as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }).config.layers
    expect(layers.map((l) => l.class_name)).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'LeakyReLU', 'AveragePooling2D', 'Flatten', 'Dense'])
    expect(layers[0]?.config).toMatchObject({ kernel_size: [3, 3], dilation_rate: [2, 2], padding: 'same', data_format: 'channels_last', batch_input_shape: [null, 12, 10, 2] })
    expect(layers[2]?.config).toMatchObject({ kernel_size: [2, 3], strides: [2, 1], padding: 'valid' })
    disposeTree([init, x])
  })

  it('batch and layer normalisation export their variables and running statistics (Keras momentum = 1 − rxtrain momentum)', async () => {
    const net = nn.sequential(
      nn.conv2d({ filters: 3, kernelSize: 3 }),
      nn.batchNorm({ momentum: 0.2, eps: 1e-3 }),
      nn.relu(),
      nn.globalAvgPool2d(),
      nn.dense({ units: 6 }),
      nn.layerNorm({ eps: 1e-4 }),
      nn.batchNorm(),
      nn.dense({ units: 2 }),
    )
    const init = net.init(key(5), [6, 6, 2])
    const random = randomize(init, 100)
    const model: Model = { params: random.params, state: withRunningVar(withRunningVar(random.state, 'batchNorm1', 7), 'batchNorm6', 8) }
    const x = tf.tensor(normal(key(6), 4 * 6 * 6 * 2), [4, 6, 6, 2])
    const { maxDiff, json, exported } = await roundTrip(net, [6, 6, 2], model, x)
    expect(maxDiff).toBeLessThan(1e-5)
    const layers = (json['modelTopology'] as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }).config.layers
    expect(layers[1]).toMatchObject({ class_name: 'BatchNormalization', config: { axis: -1, epsilon: 1e-3 } })
    expect(layers[1]?.config['momentum']).toBeCloseTo(0.8, 12)
    expect(layers[5]).toMatchObject({ class_name: 'LayerNormalization', config: { axis: -1, epsilon: 1e-4 } })
    expect(exported.weightSpecs.filter((s) => s.name.startsWith('batchNorm1/'))).toEqual([
      { name: 'batchNorm1/gamma', shape: [3], dtype: 'float32' },
      { name: 'batchNorm1/beta', shape: [3], dtype: 'float32' },
      { name: 'batchNorm1/moving_mean', shape: [3], dtype: 'float32' },
      { name: 'batchNorm1/moving_variance', shape: [3], dtype: 'float32' },
    ])
    disposeTree([init, random, model, x])
  })

  it('batch-norm statistics reached by training steps export too', async () => {
    const net = nn.sequential(nn.dense({ units: 4 }), nn.batchNorm({ axis: 2 }), nn.flatten())
    const init = net.init(key(7), [3, 5])
    let model: Model = init
    for (let step = 0; step < 3; step++) {
      const batch = tf.tensor(normal(key(50 + step), 6 * 3 * 5, 1, 2), [6, 3, 5])
      const out = net.apply(model, batch, { training: true, key: key(step) })
      const next = { params: model.params, state: out.state }
      if (model !== init) disposeTree(model.state)
      tf.dispose([batch, out.y])
      model = next
    }
    const x = tf.tensor(normal(key(60), 2 * 3 * 5), [2, 3, 5])
    const { maxDiff } = await roundTrip(net, [3, 5], model, x)
    expect(maxDiff).toBeLessThan(1e-5)
    disposeTree([init, model.state, x])
  })

  it('an embedding model (int32 ids → rank-3 dense) predicts as rxtrain does', async () => {
    const net = nn.sequential(
      nn.embedding({ vocabSize: 11, dim: 6 }),
      nn.layerNorm({ gammaInit: nn.normalInit(1), betaInit: nn.normalInit(1) }),
      nn.dense({ units: 4, activation: 'relu', biasInit: nn.normalInit(0.5) }),
      nn.flatten(),
      nn.dense({ units: 2 }),
    )
    const init = net.init(key(8), [7])
    const ids = tf.tensor([0, 1, 2, 3, 4, 5, 10, 10, 9, 8, 7, 6, 5, 4, 3, 3, 3, 0, 0, 1, 2], [3, 7], 'int32')
    const { maxDiff, exported } = await roundTrip(net, [7], init, ids)
    expect(maxDiff).toBeLessThan(1e-5)
    expect(exported.weightSpecs[0]).toEqual({ name: 'embedding0/embeddings', shape: [11, 6], dtype: 'float32' })
    disposeTree([init, ids])
  })

  it('a nested sequential is flattened, with prefixed layer names', async () => {
    const block = nn.sequential(nn.dense({ units: 5, biasInit: nn.normalInit(1) }), nn.tanh())
    const net = nn.sequential(nn.flatten(), block, nn.dense({ units: 3 }))
    const init = net.init(key(9), [2, 4])
    const x = tf.tensor(normal(key(10), 3 * 8), [3, 2, 4])
    const { maxDiff, exported } = await roundTrip(net, [2, 4], init, x)
    expect(maxDiff).toBeLessThan(1e-5)
    expect(exported.weightSpecs.map((s) => s.name)).toEqual(['sequential1_dense0/kernel', 'sequential1_dense0/bias', 'dense2/kernel', 'dense2/bias'])
    disposeTree([init, x])
  })
})

describe('exported files', () => {
  it('model.json is the LayersModel format and the bin holds the float32 weights in manifest order', async () => {
    const net = nn.sequential(nn.flatten(), nn.dense({ units: 3, biasInit: nn.normalInit(1) }), nn.dropout(0.1), nn.dense({ units: 2 }))
    const init = net.init(key(11), [4])
    const fs = memoryFileSystem()
    const exported = await run(exportLayersModel(fs, 'm', net, [4], init, { name: 'tiny_mlp' }))
    expect(exported).toMatchObject({ modelPath: 'm/model.json', weightsPath: 'm/group1-shard1of1.bin', weightBytes: (12 + 3 + 6 + 2) * 4 })
    const json = JSON.parse(new TextDecoder().decode(fs.files.get('m/model.json')))
    expect(json).toMatchObject({ format: 'layers-model', generatedBy: 'rxtrain', convertedBy: null })
    expect(json.modelTopology).toMatchObject({ class_name: 'Sequential', config: { name: 'tiny_mlp' } })
    expect(json.modelTopology.config.layers[0]).toEqual({
      class_name: 'Reshape',
      config: { name: 'flatten0', target_shape: [4], batch_input_shape: [null, 4], dtype: 'float32' },
    })
    expect(json.weightsManifest).toEqual([
      {
        paths: [WEIGHTS_FILE],
        weights: [
          { name: 'dense1/kernel', shape: [4, 3], dtype: 'float32' },
          { name: 'dense1/bias', shape: [3], dtype: 'float32' },
          { name: 'dense3/kernel', shape: [3, 2], dtype: 'float32' },
          { name: 'dense3/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ])
    const bin = fs.files.get('m/group1-shard1of1.bin') as Uint8Array
    const values = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength))
    const params = init.params as Record<string, Record<string, tf.Tensor>>
    const expected = ['dense1', 'dense3'].flatMap((l) => ['kernel', 'bias'].flatMap((w) => Array.from(params[l]?.[w]?.dataSync() ?? [])))
    expect(Array.from(values)).toEqual(expected)
    disposeTree(init)
  })

  it('writes through writeFileAtomic only, the weights before the manifest', async () => {
    const memory = memoryFileSystem()
    const calls: string[] = []
    const fs: FileSystem = {
      ...memory,
      writeFile: (path, data) => {
        calls.push(`writeFile ${path}`)
        return memory.writeFile(path, data)
      },
      writeFileAtomic: (path, data) => {
        calls.push(`writeFileAtomic ${path}`)
        return memory.writeFileAtomic(path, data)
      },
    }
    const net = nn.sequential(nn.dense({ units: 2 }))
    const init = net.init(key(12), [3])
    await run(exportLayersModel(fs, 'a/b', net, [3], init))
    expect(calls).toEqual(['writeFileAtomic a/b/group1-shard1of1.bin', 'writeFileAtomic a/b/model.json'])
    disposeTree(init)
  })

  it('a failing write is a FileError and no model.json appears', async () => {
    const memory = memoryFileSystem()
    const broken = rxtrainError('FileError', 'could not write: disk full', 'free some space.', {})
    const fs: FileSystem = {
      ...memory,
      writeFileAtomic: (path, data) => (path.endsWith('.bin') ? async () => E.left(broken) : memory.writeFileAtomic(path, data)),
    }
    const net = nn.sequential(nn.dense({ units: 2 }))
    const init = net.init(key(13), [3])
    expect(await failure(exportLayersModel(fs, 'out', net, [3], init))).toBe(broken)
    expect(memory.files.has('out/model.json')).toBe(false)
    disposeTree(init)
  })

  it('exports to disk through nodeFileSystem and loads from there', async () => {
    const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-export-'))
    temps.push(dir)
    const net = nn.sequential(nn.dense({ units: 4, activation: 'relu', biasInit: nn.normalInit(1) }), nn.dense({ units: 2 }))
    const init = net.init(key(14), [3])
    await run(exportLayersModel(nodeFileSystem, `${dir}/tfjs`, net, [3], init))
    expect(nodeFs.readdirSync(`${dir}/tfjs`).sort()).toEqual(['group1-shard1of1.bin', 'model.json'])
    const loaded = await tfl.loadLayersModel(fileHandler(nodeFileSystem, `${dir}/tfjs`))
    const x = tf.tensor(normal(key(15), 6), [2, 3])
    const y = loaded.predict(x) as tf.Tensor
    const expected = net.apply(init, x, { training: false, key: key(0) }).y
    expect(Array.from(y.dataSync()).map((v, i) => Math.abs(v - (expected.dataSync()[i] as number)))).toSatisfy((d: number[]) => d.every((v) => v < 1e-5))
    tf.dispose([x, y, expected])
    loaded.dispose()
    disposeTree(init)
  })
})

describe('what cannot be exported', () => {
  const planError = (net: nn.SequentialLayer, inputShape: Shape, model?: Model): unknown => {
    const init = model ?? net.init(key(0), inputShape)
    const result = layersModelPlan(net, inputShape, init)
    if (model === undefined) disposeTree(init)
    if (E.isRight(result)) throw new Error('expected the export to fail')
    return result.left
  }

  it('a custom layer is a ConfigError that names it, and nothing is written', async () => {
    const square = nn.statelessLayer('square', (s) => s, (x) => tf.square(x))
    const net = nn.sequential(nn.dense({ units: 2 }), square)
    const init = net.init(key(0), [3])
    const fs = memoryFileSystem()
    const before = tf.memory().numTensors
    const error = await failure(exportLayersModel(fs, 'out', net, [3], init))
    expect(tf.memory().numTensors).toBe(before)
    expect(hasTag(error, 'ConfigError')).toBe(true)
    expect((error as Error).message).toContain('square1 (square)')
    expect(fs.files.size).toBe(0)
    disposeTree(init)
  })

  it('activations TensorFlow.js layers cannot express are ConfigErrors naming the layer', () => {
    const custom = planError(nn.sequential(nn.dense({ units: 2, activation: (x) => tf.abs(x) })), [3])
    expect(hasTag(custom, 'ConfigError')).toBe(true)
    expect((custom as Error).message).toContain("dense0 (dense) uses the activation 'custom'")
    const geluTanh = planError(nn.sequential(nn.dense({ units: 2 }), nn.gelu({ approximate: 'tanh' })), [3])
    expect(hasTag(geluTanh, 'ConfigError')).toBe(true)
    expect((geluTanh as Error).message).toContain("geluTanh1 (geluTanh) uses the activation 'geluTanh'")
  })

  it('batch norm over an axis other than the last is a ConfigError (tfjs computes it wrongly)', () => {
    const error = planError(nn.sequential(nn.batchNorm({ axis: 1 })), [3, 5])
    expect(hasTag(error, 'ConfigError')).toBe(true)
    expect((error as Error).message).toContain('batchNorm0 (batchNorm) normalises axis 1 of [batch, 3, 5], not the last one')
  })

  it('dilation with strides, and layers without a config, are ConfigErrors', () => {
    const dilated = planError(nn.sequential(nn.conv2d({ filters: 2, kernelSize: 3, dilation: 2, strides: 2 })), [9, 9, 1])
    expect(hasTag(dilated, 'ConfigError')).toBe(true)
    expect((dilated as Error).message).toContain('conv2d0 (conv2d) combines dilation 2x2 with strides 2x2')
    const { config: _dropped, ...bare } = nn.dense({ units: 2 })
    const noConfig = planError(nn.sequential(bare), [3])
    expect(hasTag(noConfig, 'ConfigError')).toBe(true)
    expect((noConfig as Error).message).toContain('dense0 (dense) has no config')
  })

  it('missing or misshapen variables are StructureErrors naming the path', () => {
    const net = nn.sequential(nn.dense({ units: 2 }), nn.batchNorm())
    const init = net.init(key(0), [3])
    const missing = planError(net, [3], { params: init.params, state: {} })
    expect(hasTag(missing, 'StructureError')).toBe(true)
    expect((missing as Error).message).toContain('state.batchNorm1.runningMean is missing')
    const wrongInput = planError(net, [4], init)
    expect(hasTag(wrongInput, 'StructureError')).toBe(true)
    expect((wrongInput as Error).message).toContain('params.dense0.kernel has shape [3, 2], expected [4, 2]')
    disposeTree(init)
  })

  it('an empty sequential, a bad input shape or model name are ConfigErrors', async () => {
    expect(hasTag(planError(nn.sequential(), [3]), 'ConfigError')).toBe(true)
    expect(hasTag(planError(nn.sequential(nn.dense({ units: 1 })), [0]), 'ConfigError')).toBe(true)
    const net = nn.sequential(nn.dense({ units: 1 }))
    const init = net.init(key(0), [2])
    expect(hasTag(await failure(layersModelArtifacts(net, [2], init, { name: 'my model' })), 'ConfigError')).toBe(true)
    disposeTree(init)
  })

  it('a disposed model is a StructureError, not a crash', async () => {
    const net = nn.sequential(nn.dense({ units: 1 }))
    const init = net.init(key(0), [2])
    disposeTree(init)
    expect(hasTag(await failure(layersModelArtifacts(net, [2], init)), 'StructureError')).toBe(true)
  })
})
