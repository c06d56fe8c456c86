import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import protobuf from 'protobufjs'
import { lastValueFrom, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Backend } from '../../src/backends/backend.js'
import { MANIFEST_FILE, manifestText } from '../../src/checkpoint/manifest.js'
import { defineModuleFactory } from '../../src/checkpoint/moduleFactory.js'
import { loadParams } from '../../src/checkpoint/loadParams.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { evalMetrics } from '../../src/hooks/evalMetrics.js'
import { tensorboard } from '../../src/hooks/tensorboard.js'
import { test as testRun } from '../../src/pipeline/evaluate.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { sgd } from '../../src/optim/aliases.js'
import { quiet, useBackend } from '../support/backend.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

// Nested on purpose: hparams.yaml keeps the nesting, TensorBoard flattens it.
const LineHparams = t.type({ lr: t.number, note: t.string, layer: t.type({ width: t.number }) })
type LineHparams = t.TypeOf<typeof LineHparams>

/** y = sum(x W) + b with W of shape [1, width]: the width changes the parameters' structure. */
const lineOf = defineModuleFactory(LineHparams, ({ lr, layer }) => {
  const predict = (p: { w: tf.Tensor; b: tf.Tensor }, x: tf.Tensor) => tf.add(tf.sum(tf.matMul(x, p.w), 1, true), p.b)
  const mse = (p: { w: tf.Tensor; b: tf.Tensor }, { x, y }: XY) => tf.mean(tf.squaredDifference(predict(p, x), y)) as tf.Scalar
  return defineModule({
    init: () => ({ params: { w: tf.zeros([1, layer.width]), b: tf.zeros([1]) }, state: {} }),
    trainingStep: (m, batch: XY) => ({ loss: mse(m.params, batch) }),
    testStep: (m, batch: XY) => ({ 'test/loss': mse(m.params, batch) }),
    optimizer: sgd({ lr }),
  })
})

const hp: LineHparams = { lr: 0.1, note: 'line', layer: { width: 2 } }
const text = (fs: MemoryFileSystem, path: string) => new TextDecoder().decode(fs.files.get(path))
const env = (fs: MemoryFileSystem) => ({ backend, signals: quiet, fs })

/** Trains lineOf(hp) 2 epochs with a checkpoint, a CSV logger and TensorBoard; the final parameters' values. */
const trainOnce = async (fs: MemoryFileSystem) => {
  let final: Record<string, number[]> = {}
  await lastValueFrom(
    fit(lineOf(hp), tinyData(3, 2), { maxEpochs: 2, defaultRootDir: '/run' }, env(fs)).pipe(
      checkpoint({ saveLast: true }),
      csvLogger(),
      tensorboard({ dir: '/run/tb' }),
      tap((e) => {
        if (e.type === 'fitEnd') final = Object.fromEntries(Object.entries(e.state.params).map(([k, v]) => [k, Array.from((v as tf.Tensor).dataSync())]))
      }),
      toArray(),
    ),
  )
  return final
}

// TensorBoard's HParams plugin data, declared here from the upstream field numbers
// (tensorboard/compat/proto/event.proto, summary.proto; plugins/hparams/plugin_data.proto; struct.proto).
const root = protobuf.Root.fromJSON(<protobuf.INamespace>{
  nested: {
    Event: { fields: { summary: { type: 'Summary', id: 5 } } },
    Summary: { fields: { value: { rule: 'repeated', type: 'Value', id: 1 } } },
    Value: { fields: { tag: { type: 'string', id: 1 }, metadata: { type: 'Metadata', id: 9 } } },
    Metadata: { fields: { plugin_data: { type: 'PluginData', id: 1 } } },
    PluginData: { fields: { plugin_name: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } } },
    HParamsPluginData: { fields: { version: { type: 'int32', id: 1 }, session_start_info: { type: 'SessionStartInfo', id: 3 } } },
    SessionStartInfo: { fields: { hparams: { keyType: 'string', type: 'PbValue', id: 1 } } },
    PbValue: { fields: { number_value: { type: 'double', id: 2 }, string_value: { type: 'string', id: 3 }, bool_value: { type: 'bool', id: 4 } } },
  },
})

/** The hyperparameters of the HParams session-start event in a TFRecord event file, as name -> value. */
const tensorboardHparams = (bytes: Uint8Array): Record<string, unknown> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let at = 0; at < bytes.length; ) {
    const length = Number(view.getBigUint64(at, true))
    const event = root.lookupType('Event').toObject(root.lookupType('Event').decode(bytes.subarray(at + 12, at + 12 + length))) as {
      summary?: { value: { tag: string; metadata?: { plugin_data?: { plugin_name: string; content: Uint8Array } } }[] }
    }
    const value = event.summary?.value.find((v) => v.metadata?.plugin_data?.plugin_name === 'hparams')
    if (value?.metadata?.plugin_data !== undefined) {
      const data = root.lookupType('HParamsPluginData').toObject(root.lookupType('HParamsPluginData').decode(value.metadata.plugin_data.content)) as {
        session_start_info: { hparams: Record<string, Record<string, unknown>> }
      }
      return Object.fromEntries(Object.entries(data.session_start_info.hparams).map(([k, v]) => [k, Object.values(v)[0]]))
    }
    at += 16 + length
  }
  throw new Error('no hparams event')
}

describe('hyperparameters travel with the model (defineModuleFactory)', () => {
  it('a module built by the factory carries its hyperparameters, encoded by the codec', () => {
    expect(lineOf(hp).hparams).toEqual(hp)
    expect(lineOf.codec).toBe(LineHparams)
  })

  it('round trip: the checkpoint alone rebuilds the module with its hyperparameters and trained parameters, ready for test', async () => {
    const fs = memoryFileSystem()
    const final = await trainOnce(fs)
    const dir = JSON.parse(text(fs, '/run/checkpoints/last.json')).checkpoint as string
    expect(JSON.parse(text(fs, `/run/checkpoints/${dir}/${MANIFEST_FILE}`)).content.hparams).toEqual(hp)
    const loaded = await lineOf.loadFromCheckpoint('/run/checkpoints/last', { fs })()
    if (E.isLeft(loaded)) throw loaded.left
    const { module, hparams, model } = loaded.right
    expect(hparams).toEqual(hp)
    expect(module.hparams).toEqual(hp)
    expect(model.params.w.shape).toEqual([1, 2])
    expect(Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v.dataSync())]))).toEqual(final)
    expect(final.w?.[0]).not.toBe(0) // trained, not the initial zeros
    const scores = await lastValueFrom(testRun(module, model, tinyData(3, 2), {}, env(fs)).pipe(evalMetrics()))
    expect(Number.isFinite(scores['test/loss'])).toBe(true)
    tf.dispose([model.params.w, model.params.b])
  })

  it('hparams.yaml: the module’s hyperparameters nested under model, beside the trainer options', async () => {
    const fs = memoryFileSystem()
    await trainOnce(fs)
    const yaml = parse(text(fs, '/run/hparams.yaml')) as Record<string, unknown>
    expect(yaml.model).toEqual({ lr: 0.1, note: 'line', layer: { width: 2 } })
    expect(yaml).toMatchObject({ maxEpochs: 2, precision: '32-true' })
    expect(Object.keys(yaml).filter((k) => k.startsWith('model.'))).toEqual([])
  })

  it('TensorBoard’s HParams tab: the module’s hyperparameters flattened as model.*', async () => {
    const fs = memoryFileSystem()
    await trainOnce(fs)
    const file = [...fs.files.keys()].find((k) => k.startsWith('/run/tb/events.out.tfevents.'))
    expect(file).toBeDefined()
    const shown = tensorboardHparams(fs.files.get(file as string) as Uint8Array)
    expect(shown).toMatchObject({ 'model.lr': 0.1, 'model.note': 'line', 'model.layer.width': 2, maxEpochs: 2 })
  })

  it('saved hyperparameters that do not decode: a CheckpointError naming the field', async () => {
    const fs = memoryFileSystem()
    await trainOnce(fs)
    const dir = `/run/checkpoints/${JSON.parse(text(fs, '/run/checkpoints/last.json')).checkpoint as string}`
    const content = JSON.parse(text(fs, `${dir}/${MANIFEST_FILE}`)).content
    await fs.writeFile(`${dir}/${MANIFEST_FILE}`, new TextEncoder().encode(manifestText({ ...content, hparams: { ...hp, layer: { width: 'wide' } } })))()
    const before = tf.memory().numTensors
    const loaded = await lineOf.loadFromCheckpoint(dir, { fs })()
    expect(E.isLeft(loaded)).toBe(true)
    const error = (loaded as E.Left<{ tag: string; problem: string }>).left
    expect(error.tag).toBe('CheckpointError')
    expect(error.problem).toContain('layer.width: expected number, got "wide"')
    expect(tf.memory().numTensors).toBe(before) // nothing leaked on the way out
    // An override fixes it (Lightning's load_from_checkpoint(path, **kwargs)).
    const fixed = await lineOf.loadFromCheckpoint(dir, { fs, hparams: { layer: { width: 2 } } })()
    expect(E.isRight(fixed) && fixed.right.hparams.layer.width).toBe(2)
    if (E.isRight(fixed)) tf.dispose([fixed.right.model.params.w, fixed.right.model.params.b])
  })

  it('a factory call with JSON that does not decode (a config file’s args) throws a ConfigError naming the field', () => {
    expect(() => lineOf({ lr: '0.1' } as unknown as LineHparams)).toThrow(/lr: expected number, got "0.1"/)
  })

  it('another width than the checkpoint’s: a StructureError', async () => {
    const fs = memoryFileSystem()
    await trainOnce(fs)
    const loaded = await lineOf.loadFromCheckpoint('/run/checkpoints/last', { fs, hparams: { layer: { width: 3 } } })()
    expect(E.isLeft(loaded) && loaded.left.tag).toBe('StructureError')
  })

  it('an old checkpoint without hyperparameters still loads; the factory says what to pass', async () => {
    const fs = memoryFileSystem()
    await trainOnce(fs)
    const dir = `/run/checkpoints/${JSON.parse(text(fs, '/run/checkpoints/last.json')).checkpoint as string}`
    const { hparams: _dropped, ...old } = JSON.parse(text(fs, `${dir}/${MANIFEST_FILE}`)).content
    await fs.writeFile(`${dir}/${MANIFEST_FILE}`, new TextEncoder().encode(manifestText(old)))()
    const weights = await loadParams(dir, { fs })()
    if (E.isLeft(weights)) throw weights.left
    expect(weights.right.params.w?.shape).toEqual([1, 2])
    tf.dispose(Object.values(weights.right.params) as tf.Tensor[])
    const refused = await lineOf.loadFromCheckpoint(dir, { fs })()
    expect(E.isLeft(refused) && refused.left.problem).toMatch(/holds no hyperparameters/)
    const given = await lineOf.loadFromCheckpoint(dir, { fs, hparams: hp })()
    expect(E.isRight(given) && given.right.hparams).toEqual(hp)
    if (E.isRight(given)) tf.dispose([given.right.model.params.w, given.right.model.params.b])
  })
})
