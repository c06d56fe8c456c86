import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { readBack } from '../../src/pipeline/readBack.js'
import { useBackend } from '../support/backend.js'

let cpu: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
})

describe('readBack', () => {
  it('reads a tensor asked for twice (the loss, also logged under its name) once, and answers it in both places', () => {
    const before = tf.memory().numTensors
    const asked: number[][] = []
    const backend: Backend = {
      ...cpu,
      readScalars: (scalars) => {
        asked.push(scalars.map((t) => t.id))
        return cpu.readScalars(scalars)
      },
    }
    const loss = tf.scalar(0.25)
    const other = tf.scalar(3)
    const kept = tf.scalar(7)
    const read = readBack(backend, {
      logs: { 'train/loss': loss, 'train/other': other, 'train/loss again': loss, 'train/kept': kept },
      defaults: { onStep: true, onEpoch: false },
      batchSize: 4,
      extra: [loss],
      keep: { kept },
    })
    expect(asked).toEqual([[loss.id, other.id, kept.id]])
    expect(read.extra).toEqual([0.25])
    expect(read.logs.map((l) => [l.pending.name, l.value])).toEqual([
      ['train/loss', 0.25],
      ['train/other', 3],
      ['train/loss again', 0.25],
      ['train/kept', 7],
    ])
    // What was read is released, except what `keep` holds.
    expect([loss.isDisposed, other.isDisposed, kept.isDisposed]).toEqual([true, true, false])
    kept.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
