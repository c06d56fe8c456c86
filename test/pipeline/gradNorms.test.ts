import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { sgd } from '../../src/optim/aliases.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import type { GradNormMode } from '../../src/pipeline/gradNorms.js'
import { defineModule } from '../../src/pipeline/module.js'
import { parseTrainerOptions } from '../../src/pipeline/options.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { isGradNorm } from '../../src/report/metricNames.js'
import { quiet, useBackend } from '../support/backend.js'
import { tinyData } from '../support/tiny.js'

let cpu: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
})

// loss = <enc.w, c> + ½|dec.v|²: the gradients are c = [3, 4] (norm 5) and v (at first [1, 2, 2], norm 3).
const module = () =>
  defineModule({
    init: () => ({ params: { enc: { w: tf.zeros([2]) }, dec: { v: tf.tensor1d([1, 2, 2]) } }, state: {} }),
    trainingStep: (model) => {
      const loss = tf.add(tf.sum(tf.mul(model.params.enc.w, tf.tensor1d([3, 4]))), tf.mul(0.5, tf.sum(tf.square(model.params.dec.v)))) as tf.Scalar
      return { loss, logs: { 'train/loss': loss } }
    },
    optimizer: sgd({ lr: 0.1 }),
  })

/** A backend that counts its host reads: one entry per transfer, the number of scalars read. */
const counting = (reads: number[]): Backend => ({
  ...cpu,
  readScalars: (tensors) => {
    reads.push(tensors.length)
    return cpu.readScalars(tensors)
  },
})

const run = async (logGradNorm: GradNormMode | undefined, accumulateGradBatches = 1) => {
  const reads: number[] = []
  const events: FitEvent[] = []
  const model = await lastValueFrom(
    fit(module(), { train: tinyData(4, 0, 1).train }, { maxEpochs: 1, numSanityValSteps: 0, accumulateGradBatches, ...(logGradNorm !== undefined && { logGradNorm }) }, { backend: counting(reads), signals: quiet }).pipe(
      tap((e) => events.push(e)),
      trainedModel(),
    ),
  )
  const params = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  const steps = events.flatMap((e) => (e.type === 'trainStep' ? [e.metrics] : []))
  return { reads, params, steps }
}

describe('logGradNorm', () => {
  it("logs the global, per-group and per-parameter L2 norms that a hand computation gives ('per-parameter')", async () => {
    const { steps } = await run('per-parameter')
    // After step k (sgd, lr 0.1) v = 0.9^k [1, 2, 2]: its gradient's norm is 3 * 0.9^k.
    steps.forEach((m, k) => {
      const v = 3 * 0.9 ** k
      expect(m.grad_norm).toBeCloseTo(Math.sqrt(25 + v * v), 5)
      expect(m.grad_norm_enc).toBeCloseTo(5, 5)
      expect(m.grad_norm_dec).toBeCloseTo(v, 5)
      expect(m['grad_norm_enc.w']).toBeCloseTo(5, 5)
      expect(m['grad_norm_dec.v']).toBeCloseTo(v, 5)
    })
    expect(steps).toHaveLength(4)
    // The run report charts them as gradient norms.
    for (const name of Object.keys(steps[0] ?? {}).filter((n) => n.startsWith('grad_norm'))) expect(isGradNorm(name)).toBe(true)
  })

  it("'global' logs grad_norm only; 'per-group' adds the groups", async () => {
    const global = await run('global')
    expect(Object.keys(global.steps[0] ?? {}).filter((n) => n.startsWith('grad_norm'))).toEqual(['grad_norm'])
    const groups = await run('per-group')
    expect(Object.keys(groups.steps[0] ?? {}).filter((n) => n.startsWith('grad_norm')).sort()).toEqual(['grad_norm', 'grad_norm_dec', 'grad_norm_enc'])
  })

  it('under accumulation: the norm of the summed window, logged at optimizer steps only', async () => {
    const { steps } = await run('global', 2)
    // Each batch's gradients are divided by 2, so a window of 2 sums to one batch's: norm √(25 + 9) for the first.
    expect(steps.map((m) => m.grad_norm !== undefined)).toEqual([false, true, false, true])
    expect(steps[1]?.grad_norm).toBeCloseTo(Math.sqrt(25 + 9), 5)
  })

  it("'off' (the default) leaves the step bitwise unchanged and reads nothing extra; on, the norms travel in the loss's transfer", async () => {
    const before = tf.memory().numTensors
    const plain = await run(undefined)
    const off = await run('off')
    const on = await run('per-group')
    expect(off.params).toEqual(plain.params)
    expect(on.params).toEqual(plain.params)
    expect(off.reads).toEqual(plain.reads)
    // One transfer per step either way; 'per-group' adds 3 scalars to it (grad_norm, _enc, _dec).
    expect(on.reads).toHaveLength(off.reads.length)
    expect(on.reads).toEqual(off.reads.map((n) => n + 3))
    expect(off.steps.every((m) => Object.keys(m).every((n) => !n.startsWith('grad_norm')))).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("is refused with strategy 'ddp' (not computed there yet) rather than silently not logged", () => {
    const parsed = parseTrainerOptions({ strategy: 'ddp', devices: 2, logGradNorm: 'global' })
    expect(parsed._tag === 'Left' && parsed.left.message).toMatch(/logGradNorm 'global' is not supported with strategy 'ddp'/)
    expect(parseTrainerOptions({ strategy: 'ddp', devices: 2, logGradNorm: 'off' })._tag).toBe('Right')
  })
})
