import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { asyncOnly, quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

// The loop's path for backends without synchronous reads (webgpu in Node), exercised on cpu:
// the same backend, except that it only reads asynchronously, and slowly.
let cpu: Backend
let slowReads: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
  slowReads = asyncOnly(cpu, 5)
})

// A row every step, so that every step's values are read on both (see deferredReads.test.ts for the steps that log nothing).
const paramsOf = async (backend: Backend, events: FitEvent[] = []) => {
  const model = await lastValueFrom(fit(lineModule(), tinyData(6, 3, 2), { maxEpochs: 2, logEveryNSteps: 1 }, { backend, signals: quiet }).pipe(tap((e) => events.push(e)), trainedModel()))
  const values = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  return values
}

describe('a backend that reads asynchronously', () => {
  it('trains and validates to bitwise the same parameters and logs as synchronous reads', async () => {
    const syncEvents: FitEvent[] = []
    const asyncEvents: FitEvent[] = []
    const before = tf.memory().numTensors
    expect(await paramsOf(slowReads, asyncEvents)).toEqual(await paramsOf(cpu, syncEvents))
    expect(tf.memory().numTensors).toBe(before)
    const rows = (events: FitEvent[]) => events.flatMap((e): string[] => (e.type === 'trainStep' ? [String(e.loss)] : e.type === 'validationEnd' ? [JSON.stringify(e.metrics)] : []))
    expect(rows(asyncEvents)).toEqual(rows(syncEvents))
    expect(rows(syncEvents).length).toBe(14)
  })

  it('releases the step in flight when the run is unsubscribed during a read', async () => {
    const before = tf.memory().numTensors
    await new Promise<void>((resolve) => {
      const subscription = fit(lineModule(), tinyData(6, 3, 2), { maxEpochs: 2 }, { backend: slowReads, signals: quiet }).subscribe({
        next: (e) => {
          // Unsubscribe during the second step's read.
          if (e.type === 'trainStep' && e.batchIdx === 0) setTimeout(() => (subscription.unsubscribe(), resolve()), 1)
        },
      })
    })
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(tf.memory().numTensors).toBe(before)
  })
})
