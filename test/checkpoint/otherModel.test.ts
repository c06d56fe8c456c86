/**
 * Issue 16 point 13: errors say what happened. A checkpoint folder whose manifest belongs to
 * another model (another run's manifest.json copied over) was reported as a truncated tensor file;
 * a pointer to a removed checkpoint was a bare FileError. Now the first is a StructureError that
 * lists how the parameters differ, and every missing checkpoint file is a CheckpointError.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { loadParams } from '../../src/checkpoint/loadParams.js'
import { loadCheckpoint } from '../../src/checkpoint/readCheckpoint.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import type { RxtrainError } from '../../src/errors/rxtrainError.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { nn, optim } from '../../src/index.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { key } from '../../src/random/key.js'
import { disposeTree } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'
import type { XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** A classifier of 4 features into 3 classes with the given hidden layers. */
const classifier = (...hidden: number[]) => {
  const net = nn.sequential(...hidden.map((units) => nn.dense({ units, activation: 'relu' })), nn.dense({ units: 3 }))
  return { net, module: defineModule({ init: (k) => net.init(k, [4]), trainingStep: (m, b: XY, ctx) => ({ loss: nn.softmaxCrossEntropy(net.apply(m, b.x, ctx).y, b.y) }), optimizer: optim.adam({ lr: 0.01 }) }) }
}
const small = classifier(8)
const deeper = classifier(6, 5)
const data = {
  train: fromArrays({ x: { data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), shape: [4] }, y: { data: Int32Array.from({ length: 16 }, (_, i) => i % 3), shape: [], dtype: 'int32' } }, { batchSize: 8 }),
}

/** A run of `module` with a `last` checkpoint in `fs` under `root`; its checkpoint folder. */
const trained = async (fs: MemoryFileSystem, root: string, module: typeof small.module): Promise<string> => {
  await lastValueFrom(fit(module, data, { maxSteps: 2, defaultRootDir: root }, { backend, fs, signals: quiet }).pipe(checkpoint({ saveLast: true })))
  const { checkpoint: name } = JSON.parse(new TextDecoder().decode(fs.files.get(`${root}/checkpoints/last.json`))) as { checkpoint: string }
  return `${root}/checkpoints/${name}`
}

/** Two runs, of the small and the deeper model; the small one's `last` gets the deeper one's manifest (or the other way round). */
const mixed = async (smallGetsDeeper = true) => {
  const fs = memoryFileSystem()
  const a = await trained(fs, '/a', small.module)
  const b = await trained(fs, '/b', deeper.module)
  const [dir, other] = smallGetsDeeper ? [a, b] : [b, a]
  await fs.writeFile(`${dir}/manifest.json`, fs.files.get(`${other}/manifest.json`) as Uint8Array)()
  return { fs, dir }
}

const failureOf = (run: Promise<unknown>): Promise<RxtrainError> =>
  run.then(
    () => {
      throw new Error('expected the run to fail')
    },
    (e: unknown) => e as RxtrainError,
  )

/** What the deeper model's manifest says against the small model (which has dense0 [4,8] and dense1 [8,3]). */
const expectOtherModel = (e: RxtrainError, dir: string) => {
  expect(e.tag).toBe('StructureError')
  expect(e.problem).toBe(
    `${dir} was saved from a model of another structure (2 parameters in it are not in this model, 4 parameters have another shape or dtype; this model has 4, the checkpoint 6): ` +
      'dense0/bias: expected [8] float32, got [6] float32; dense0/kernel: expected [4,8] float32, got [4,6] float32; dense1/bias: expected [3] float32, got [5] float32; ' +
      'dense1/kernel: expected [8,3] float32, got [6,5] float32; unexpected dense2/bias [3]; unexpected dense2/kernel [5,3]',
  )
  expect(e.problem).not.toMatch(/truncated|damaged|does not match its manifest/)
  expect(e.details).toMatchObject({ file: dir })
}

describe('a checkpoint whose manifest belongs to another model', () => {
  it('resuming from it says the model differs, naming the parameters, not that the tensor file is truncated', async () => {
    const { fs, dir } = await mixed()
    const e = await failureOf(lastValueFrom(fit(small.module, data, { maxSteps: 4, defaultRootDir: '/a', ckptPath: 'last' }, { backend, fs, signals: quiet })))
    expectOtherModel(e, dir)
    expect(e.remedy).toContain('resume with the module that wrote the checkpoint')
  })

  it('loadParams with `like` says so too', async () => {
    const { fs, dir } = await mixed()
    const like = small.module.init(key(0)).params
    const loaded = await loadParams('/a/checkpoints/last', { fs, like })()
    disposeTree(like)
    expect(E.isLeft(loaded)).toBe(true)
    if (E.isLeft(loaded)) expectOtherModel(loaded.left, dir)
  })

  it('loadCheckpoint, which knows no model, says the two files do not belong together (no guess of truncation)', async () => {
    const { fs, dir } = await mixed()
    const loaded = await loadCheckpoint(fs, dir)()
    expect(E.isLeft(loaded) && loaded.left.tag).toBe('CheckpointError')
    expect(E.isLeft(loaded) && loaded.left.problem).toMatch(
      new RegExp(`^${dir}/tensors\\.bin does not match its manifest: it has \\d+ bytes, the manifest describes \\d+ \\(\\d+ tensors\\); the file was cut short, or the two files come from different checkpoints$`),
    )
    // A tensor file longer than its manifest says was not cut short.
    const longer = await mixed(false)
    const other = await loadCheckpoint(longer.fs, longer.dir)()
    expect(E.isLeft(other) && other.left.problem).toMatch(/\(\d+ tensors\); the two files come from different checkpoints$/)
  })

  it('a model that differs in one name and one shape gets both, and a count of what is missing', async () => {
    const fs = memoryFileSystem()
    await trained(fs, '/c', small.module)
    const renamed = defineModule({
      init: () => ({ params: { dense0: { kernel: tf.zeros([4, 8]), bias: tf.zeros([8]) }, head: { kernel: tf.zeros([8, 2]), bias: tf.zeros([3]) } }, state: {} }),
      trainingStep: (m, b: XY) => ({ loss: tf.sum(tf.matMul(b.x, m.params.dense0.kernel)) as tf.Scalar }),
      optimizer: optim.sgd({ lr: 0.1 }),
    })
    const e = await failureOf(lastValueFrom(fit(renamed, data, { maxSteps: 4, defaultRootDir: '/c', ckptPath: 'last' }, { backend, fs, signals: quiet })))
    expect(e.tag).toBe('StructureError')
    expect(e.problem).toContain('(2 parameters of this model are missing from it, 2 parameters in it are not in this model; this model has 4, the checkpoint 4)')
    expect(e.problem).toContain('missing head/bias [3]; missing head/kernel [8,2]; unexpected dense1/bias [3]; unexpected dense1/kernel [8,3]')
  })
})

describe('a missing checkpoint file is a CheckpointError', () => {
  it('a folder that is not there', async () => {
    const loaded = await loadCheckpoint(memoryFileSystem(), '/nowhere/ckpt')()
    expect(E.isLeft(loaded) && [loaded.left.tag, loaded.left.problem]).toEqual(['CheckpointError', 'no checkpoint at /nowhere/ckpt'])
  })

  it('a checkpoint folder without its manifest.json', async () => {
    const fs = memoryFileSystem()
    const dir = await trained(fs, '/d', small.module)
    await fs.remove(`${dir}/manifest.json`)()
    const loaded = await loadCheckpoint(fs, dir)()
    expect(E.isLeft(loaded) && [loaded.left.tag, loaded.left.problem]).toEqual(['CheckpointError', `no checkpoint at ${dir}`])
  })

  it('`last` pointing at a checkpoint that was removed (it was a FileError: ENOENT)', async () => {
    const fs = memoryFileSystem()
    const dir = await trained(fs, '/e', small.module)
    await fs.remove(dir)()
    const loaded = await loadCheckpoint(fs, '/e/checkpoints/last')()
    expect(E.isLeft(loaded) && [loaded.left.tag, loaded.left.problem]).toEqual(['CheckpointError', `/e/checkpoints/last.json points at ${dir}, which is not there (no manifest.json)`])
    const e = await failureOf(lastValueFrom(fit(small.module, data, { maxSteps: 4, defaultRootDir: '/e', ckptPath: 'last' }, { backend, fs, signals: quiet })))
    expect(e.tag).toBe('CheckpointError')
  })
})
