import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { TrainerOptions } from '../../src/pipeline/options.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, scheduleOf, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/** Runs fit synchronously (cpu backend, in-memory sources) and returns its events. */
const run = (T: number, V: number, options: TrainerOptions): FitEvent[] => {
  const events: FitEvent[] = []
  let failure: unknown
  fit(lineModule(), tinyData(T, V), options, { backend, signals: quiet }).subscribe({ next: (e) => events.push(e), error: (e: unknown) => (failure = e) })
  if (failure !== undefined) throw failure
  expect(events.at(-1)?.type).toBe('fitEnd')
  return events
}

// Every row of LIGHTNING-SEMANTICS.md's worked examples (train batches T, val batches V, batch size 1).
describe('the worked examples of LIGHTNING-SEMANTICS.md', () => {
  const rows: { T: number; V: number; options: TrainerOptions; steps: number; globalStep: number; validations: string[]; valBatches?: number[]; sanity: number }[] = [
    { T: 10, V: 4, options: { maxEpochs: 1 }, steps: 10, globalStep: 10, validations: ['0:9'], valBatches: [4], sanity: 2 },
    { T: 10, V: 2, options: { maxEpochs: 1, valCheckInterval: 3 }, steps: 10, globalStep: 10, validations: ['0:2', '0:5', '0:8'], sanity: 2 },
    { T: 10, V: 2, options: { maxEpochs: 1, valCheckInterval: 0.5 }, steps: 10, globalStep: 10, validations: ['0:4', '0:9'], sanity: 2 },
    { T: 5, V: 2, options: { maxEpochs: 3, checkValEveryNEpoch: 2 }, steps: 15, globalStep: 15, validations: ['1:4'], sanity: 2 },
    { T: 10, V: 2, options: { maxEpochs: 2, limitTrainBatches: 3 }, steps: 6, globalStep: 6, validations: ['0:2', '1:2'], sanity: 2 },
    { T: 10, V: 4, options: { maxEpochs: 2, limitValBatches: 0 }, steps: 20, globalStep: 20, validations: [], sanity: 0 },
    { T: 4, V: 4, options: { maxEpochs: 1, numSanityValSteps: -1 }, steps: 4, globalStep: 4, validations: ['0:3'], sanity: 4 },
    { T: 10, V: 2, options: { maxSteps: 6, valCheckInterval: 3 }, steps: 6, globalStep: 6, validations: ['0:2', '0:5'], sanity: 2 },
    { T: 10, V: 2, options: { maxEpochs: 1, accumulateGradBatches: 3 }, steps: 10, globalStep: 4, validations: ['0:9'], sanity: 2 },
    { T: 10, V: 8, options: { fastDevRun: 5 }, steps: 5, globalStep: 5, validations: ['0:4'], valBatches: [5], sanity: 0 },
  ]
  for (const row of rows)
    it(`T=${row.T}, V=${row.V}, ${JSON.stringify(row.options)}`, () => {
      const s = scheduleOf(run(row.T, row.V, row.options))
      expect(s.trainSteps).toBe(row.steps)
      expect(s.globalStep).toBe(row.globalStep)
      expect(s.validations).toEqual(row.validations)
      if (row.valBatches !== undefined) expect(s.valBatches).toEqual(row.valBatches)
      expect(s.sanityBatches).toBe(row.sanity)
    })

  it('accumulateGradBatches=3 steps after batches 2, 5, 8 and the last batch 9', () => {
    expect(scheduleOf(run(10, 2, { maxEpochs: 1, accumulateGradBatches: 3 })).stepBatches).toEqual(['0:2', '0:5', '0:8', '0:9'])
  })

  it('leaves no tensor behind in any of them', () => {
    const before = tf.memory().numTensors
    for (const row of [{ maxEpochs: 2, valCheckInterval: 3 }, { maxEpochs: 1, accumulateGradBatches: 3 }, { fastDevRun: 5 }] as TrainerOptions[])
      run(10, 4, row)
    expect(tf.memory().numTensors).toBe(before)
  })
})
