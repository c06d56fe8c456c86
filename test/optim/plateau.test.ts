import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { reduceOnPlateau } from '../../src/optim/plateau.js'
import type { PlateauOptions, PlateauState } from '../../src/optim/plateau.js'
import { tinyTree, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

/** The scale after each observation of `values` under `monitor` (default key). */
const scales = (options: PlateauOptions, values: readonly number[], key = 'val/loss'): number[] => {
  const t = reduceOnPlateau(options)
  let state: PlateauState = t.init({})
  return values.map((v) => {
    state = t.observe!(state, { [key]: v })
    return state.scale
  })
}

describe('reduceOnPlateau (PyTorch ReduceLROnPlateau rules)', () => {
  it('reduces when the bad count exceeds patience, and cooldown delays counting again', () => {
    const losses = [1, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    // patience 2: best 0.9 at obs 2; bad 1, 2, 3 (> 2) at obs 3-5 -> 0.5 at obs 5, bad reset
    // cooldown 1: obs 6 is in cooldown (counter 1 -> 0, bad count reset to 0); obs 7-9 bad 1, 2, 3 -> 0.25 at obs 9
    const withCooldown = scales({ factor: 0.5, patience: 2, cooldown: 1 }, losses)
    expect(withCooldown).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25])
    // without cooldown: obs 6-8 bad 1, 2, 3 -> 0.25 one observation earlier
    expect(scales({ factor: 0.5, patience: 2 }, losses)).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25])
  })

  it('counts an improvement smaller than the threshold as bad (rel and abs)', () => {
    // rel 1e-2: 0.995 is not < 1 * (1 - 0.01) -> bad; patience 0 reduces at once
    expect(scales({ patience: 0, threshold: 1e-2 }, [1, 0.995])).toEqual([1, 0.1])
    expect(scales({ patience: 0, threshold: 1e-2 }, [1, 0.98])).toEqual([1, 1])
    // abs 0.1: 0.95 is not < 1 - 0.1 -> bad; 0.85 is
    expect(scales({ patience: 0, threshold: 0.1, thresholdMode: 'abs' }, [1, 0.95])).toEqual([1, 0.1])
    expect(scales({ patience: 0, threshold: 0.1, thresholdMode: 'abs' }, [1, 0.85])).toEqual([1, 1])
  })

  it("mode 'max' treats a rise as improvement", () => {
    expect(scales({ mode: 'max', patience: 0, monitor: 'val/acc' }, [0.5, 0.6, 0.55], 'val/acc')).toEqual([1, 1, 0.1])
  })

  it('never goes below minScale, and ignores reductions smaller than 1e-8', () => {
    expect(scales({ patience: 0, factor: 0.5, minScale: 0.3 }, [1, 2, 3, 4])).toEqual([1, 0.5, 0.3, 0.3])
    // 1 -> 1e-4 -> 1e-8; the next reduction (1e-8 - 1e-12 < 1e-8) is ignored, as in PyTorch
    const tiny = scales({ patience: 0, factor: 1e-4 }, [1, 2, 3, 4, 5])
    expect(tiny[2]).toBeCloseTo(1e-8, 20)
    expect(tiny[4]).toBe(tiny[2])
  })

  it('ignores metrics without the monitored key, and a NaN counts as bad', () => {
    const t = reduceOnPlateau({ patience: 0 })
    const s0 = t.observe!(t.init({}), { 'val/loss': 1 })
    expect(t.observe!(s0, { 'train/loss': 5 })).toBe(s0)
    expect(t.observe!(s0, { 'val/loss': NaN }).scale).toBeCloseTo(0.1, 12)
  })

  it('multiplies updates by its scale and reports it', () => {
    const t = reduceOnPlateau({ patience: 0, factor: 0.5 })
    const reduced = t.observe!(t.observe!(t.init({}), { 'val/loss': 1 }), { 'val/loss': 1 })
    expect(t.hyperparams?.(reduced)).toEqual({ plateauScale: 0.5 })
    expect(reduced).toEqual({ scale: 0.5, best: 1, numBadEpochs: 0, cooldownCounter: 0 })
    tf.tidy(() => {
      const [u] = t.update(tinyTree(2, -4, 1), reduced, tinyTree(0, 0, 0))
      expect(valuesOf(u)).toEqual({ w: [1, -2], 'b/c': [0.5] })
    })
  })

  it('keeps a JSON-serialisable state (no Infinity before the first observation)', () => {
    const t = reduceOnPlateau()
    const s = t.init({})
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
  })
})
