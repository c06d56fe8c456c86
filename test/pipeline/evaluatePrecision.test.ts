import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { type Backend, withoutHostReads } from '../../src/backends/backend.js'
import type { HalfRounding } from '../../src/backends/castHalf.js'
import { predict, validate } from '../../src/pipeline/evaluate.js'
import { defineModule } from '../../src/pipeline/module.js'
import { sgd } from '../../src/optim/aliases.js'
import { disposeTree } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineSource, type XY } from '../support/tiny.js'

/** A line module whose steps round through the context's cast, as layers do. */
const module = defineModule({
  init: () => ({ params: { w: tf.ones([1, 1]) }, state: {} }),
  trainingStep: (model, batch: XY) => ({ loss: tf.mean(tf.matMul(batch.x, model.params.w)) as tf.Scalar }),
  validationStep: (model, batch: XY, ctx) => ({ 'val/y': tf.mean(tf.matMul((ctx.castCompute ?? ((t: tf.Tensor) => t))(batch.x), model.params.w)) }),
  predictStep: (model, batch: XY, ctx) => tf.matMul((ctx.castCompute ?? ((t: tf.Tensor) => t))(batch.x), model.params.w),
  optimizer: sgd({ lr: 0.1 }),
})

describe('validate and predict under a half policy', () => {
  it("round with the run's backend's rounding (on the device where it has no host reads), not the host's", async () => {
    const cpu = await useBackend('cpu')
    const formats: string[] = []
    const device = withoutHostReads(cpu)
    const counting: HalfRounding = (x, format) => {
      formats.push(format)
      return (device.roundHalf as HalfRounding)(x, format)
    }
    const backend: Backend = { ...device, roundHalf: counting }
    const model = module.init(undefined as never)
    const data = { val: lineSource(2, 2), predict: lineSource(2, 2) }
    const before = tf.memory().numTensors
    await lastValueFrom(validate(module, model, data, { precision: 'bf16-mixed' }, { backend, signals: quiet }).pipe(toArray()))
    expect(formats).toEqual(['bfloat16', 'bfloat16'])
    await lastValueFrom(predict(module, model, data, { precision: '16-mixed' }, { backend, signals: quiet }).pipe(toArray()))
    expect(formats.slice(2)).toEqual(['float16', 'float16'])
    expect(tf.memory().numTensors).toBe(before)
    disposeTree(model)
  })
})
