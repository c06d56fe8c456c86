import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { fixedProcessInfo } from '../../src/effects/processInfo.js'
import { manualSignals } from '../../src/effects/signals.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { tensorboard } from '../../src/hooks/tensorboard.js'
import { sgd } from '../../src/optim/aliases.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { log } from '../../src/pipeline/logs.js'
import { defineModule } from '../../src/pipeline/module.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { useBackend } from '../support/backend.js'
import { conflictsOf, pointsOf, readEventDir, tensorboardView } from '../support/tfEvents.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** y = 2x + 1 with a step-level loss, an epoch-level error and a validation loss. */
const module = defineModule({
  init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
  trainingStep: (model, batch: XY) => {
    const err = tf.sub(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)
    const loss = tf.mean(tf.square(err)) as tf.Scalar
    return { loss, logs: { 'train/loss': loss, 'train/mae': log(tf.mean(tf.abs(err)), { onStep: false, onEpoch: true }) } }
  },
  validationStep: (model, batch: XY) => ({
    'val/loss': tf.mean(tf.squaredDifference(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)),
  }),
  optimizer: sgd({ lr: 0.1 }),
})

const options: TrainerOptions = { maxEpochs: 3, logEveryNSteps: 1, valCheckInterval: 3, seed: 3, defaultRootDir: '/run' }

/** Aborts a run when it is about to hand on event `at`: every event before it has been handled, and its writes are done. */
class Killed extends Error {}

/**
 * Trains into `fs` with TensorBoard (buffering past every checkpoint: flushEvery 100) and two
 * checkpoint hooks (every 2 steps, and the best validation); with `killAt`, answers a copy of the
 * file system as a SIGKILL would leave it just before event `killAt` (nothing the process still
 * held in memory reaches it).
 */
const train = async (fs: MemoryFileSystem, opts: TrainerOptions, killAt?: number): Promise<MemoryFileSystem | undefined> => {
  let seen = 0
  let snapshot: MemoryFileSystem | undefined
  const kill: MonoTypeOperatorFunction<FitEvent> = tap(() => {
    if (seen++ !== killAt) return
    snapshot = memoryFileSystem(Object.fromEntries(fs.files))
    throw new Killed()
  })
  const run: Observable<FitEvent> = fit(module, tinyData(6, 2), opts, { backend, fs, clock: manualClock(0), signals: manualSignals(), processInfo: fixedProcessInfo('host', 1) }).pipe(
    kill,
    tensorboard({ dir: '/run/tb' }),
    checkpoint({ everyNTrainSteps: 2, saveLast: true }),
    checkpoint({ dir: '/run/best', monitor: 'val/loss' }),
  )
  await lastValueFrom(run, { defaultValue: undefined }).catch((e: unknown) => {
    if (!(e instanceof Killed)) throw e
  })
  return snapshot
}

describe('TensorBoard logs after a kill and a resume from last', () => {
  it('hold every (tag, step, value) of an uninterrupted run, with no conflicting values, at every kill point', async () => {
    const referenceFs = memoryFileSystem()
    await train(referenceFs, options)
    const referenceFiles = await readEventDir(referenceFs, '/run/tb')
    const reference = pointsOf(referenceFiles)
    expect(reference.size).toBe(27) // 18 steps, 6 validations, 3 epochs
    expect(conflictsOf(referenceFiles)).toEqual([])

    let resumed = 0
    for (let killAt = 1; ; killAt++) {
      const killed = await train(memoryFileSystem(), options, killAt)
      if (killed === undefined) break // the run ended before this event
      if (!killed.files.has('/run/checkpoints/last.json')) continue // nothing to resume from yet
      await train(killed, { ...options, ckptPath: 'last' })
      resumed++
      const files = await readEventDir(killed, '/run/tb')
      expect(files.length, `kill before event ${killAt}`).toBe(2)
      const union = pointsOf(files)
      expect([...reference].filter((p) => !union.has(p)), `missing after a kill before event ${killAt}`).toEqual([])
      expect([...union].filter((p) => !reference.has(p)), `extra after a kill before event ${killAt}`).toEqual([])
      expect(conflictsOf(files), `kill before event ${killAt}`).toEqual([])
      // and TensorBoard, which drops the first file's points from the restart's step on, shows exactly them
      expect(tensorboardView(files), `kill before event ${killAt}`).toEqual(reference)
    }
    expect(resumed).toBeGreaterThan(20)
  }, 60_000)
})
