import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { nn, optim } from '../../src/index.js'
import { quiet, useBackend } from '../support/backend.js'
import { failureOf } from '../support/run.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const net = nn.sequential(nn.dense({ units: 8, activation: 'relu' }), nn.dense({ units: 1 }))
/** A module whose training step throws on batch `failAt`, after its forward pass computed the loss. */
const failingAfterForward = (failAt: number, where: 'step' | 'backward' = 'step') =>
  defineModule({
    init: (k) => net.init(k, [1]),
    trainingStep: (model, batch: XY, ctx) => {
      const y = net.apply(model, batch.x, ctx).y
      const loss = tf.mean(tf.squaredDifference(y, batch.y)) as tf.Scalar
      if (ctx.batchIdx === failAt && where === 'step') throw new Error('boom after the forward pass')
      if (ctx.batchIdx === failAt && where === 'backward') {
        // a loss whose gradient fails during the backward pass
        const broken = tf.customGrad((...inputs) => ({
          value: tf.mul(inputs[0] as tf.Tensor, 1),
          gradFunc: (): tf.Tensor => {
            throw new Error('boom in the backward pass')
          },
        }))
        return { loss: broken(loss) as tf.Scalar }
      }
      return { loss }
    },
    optimizer: optim.adam({ lr: 0.01 }),
  })

describe('a training step that fails leaks nothing', () => {
  for (const precision of ['32-true', '16-mixed'] as const)
    it(`throwing after its forward pass (batch 2, ${precision}): the tensor count is the same before and after the failed fit`, () => {
      const before = tf.memory().numTensors
      const error = failureOf(fit(failingAfterForward(2), tinyData(6, 0, 4), { maxEpochs: 1, precision, numSanityValSteps: 0 }, { backend, signals: quiet }))
      expect((error as Error).message).toMatch(/boom after the forward pass/)
      expect(tf.memory().numTensors).toBe(before)
    })

  it('throwing in the backward pass: the tensor count is the same before and after the failed fit', () => {
    const before = tf.memory().numTensors
    const error = failureOf(fit(failingAfterForward(1, 'backward'), tinyData(6, 0, 4), { maxEpochs: 1, numSanityValSteps: 0 }, { backend, signals: quiet }))
    expect((error as Error).message).toMatch(/boom in the backward pass/)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('with accumulation, failing inside a window releases the gradients gathered so far', () => {
    const before = tf.memory().numTensors
    const error = failureOf(fit(failingAfterForward(4), tinyData(6, 0, 4), { maxEpochs: 1, accumulateGradBatches: 3, numSanityValSteps: 0 }, { backend, signals: quiet }))
    expect((error as Error).message).toMatch(/boom after the forward pass/)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a later fit after the failure trains normally (no gradient tape left behind)', () => {
    failureOf(fit(failingAfterForward(2), tinyData(6, 0, 4), { maxEpochs: 1, numSanityValSteps: 0 }, { backend, signals: quiet }))
    const engine = tf.engine() as unknown as { state: { activeTape: unknown; gradientDepth: number } }
    expect(engine.state.gradientDepth).toBe(0)
    expect(engine.state.activeTape).toBeNull()
  })
})
