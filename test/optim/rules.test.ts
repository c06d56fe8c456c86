import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../support/backend.js'
import { adam, adamw, rmsprop, sgd } from '../../src/optim/aliases.js'
import { clipByGlobalNorm, clipByValue, globalNorm } from '../../src/optim/clip.js'
import { addDecayedWeights } from '../../src/optim/weightDecay.js'
import { expectValuesClose, handGrads, tinyTree, trajectory, valuesOf } from './helpers.js'

beforeAll(async () => {
  await useBackend('cpu')
})

// Every test starts from p0 = { w: [1, -2], b/c: [0.5] } and sees the gradients
//   g1 = { w: [0.5, 1], c: [-1] }   g2 = { w: [1, -1], c: [2] }   g3 = { w: [-0.5, 0], c: [1] }
const p0 = () => tinyTree(1, -2, 0.5)
const asValues = (w0: number, w1: number, c: number) => ({ w: [w0, w1], 'b/c': [c] })

describe('published update rules on hand-computed values', () => {
  it('sgd: p -= lr g', () => {
    // lr 0.1: w0 1 -0.05 -0.1 +0.05 = 0.95, 0.85, 0.9; w1 -2 -0.1 +0.1 -0 = -2.1, -2, -2;
    // c 0.5 +0.1 -0.2 -0.1 = 0.6, 0.4, 0.3
    const got = trajectory(sgd({ lr: 0.1 }), p0(), handGrads)
    expectValuesClose(got[0]!, asValues(0.95, -2.1, 0.6))
    expectValuesClose(got[1]!, asValues(0.85, -2, 0.4))
    expectValuesClose(got[2]!, asValues(0.9, -2, 0.3))
  })

  it('sgd with coupled weight decay: g += wd p before the step', () => {
    // lr 0.1, wd 0.1. step 1: g' = [0.5 + 0.1, 1 - 0.2], c: -1 + 0.05 -> p = [0.94, -2.08], c 0.595
    // step 2: g' = [1 + 0.094, -1 - 0.208], c: 2 + 0.0595 -> p = [0.8306, -1.9592], c 0.38905
    const got = trajectory(sgd({ lr: 0.1, weightDecay: 0.1 }), p0(), handGrads.slice(0, 2))
    expectValuesClose(got[0]!, asValues(0.94, -2.08, 0.595))
    expectValuesClose(got[1]!, asValues(0.8306, -1.9592, 0.38905))
  })

  it('momentum: t = m t + g, p -= lr t', () => {
    // m 0.9, lr 0.1. t1 = g1 -> p1 = [0.95, -2.1], c 0.6
    // t2 = 0.9 [0.5, 1] + [1, -1] = [1.45, -0.1], c: -0.9 + 2 = 1.1 -> p2 = [0.805, -2.09], c 0.49
    // t3 = 0.9 [1.45, -0.1] + [-0.5, 0] = [0.805, -0.09], c: 0.99 + 1 = 1.99 -> p3 = [0.7245, -2.081], c 0.291
    const got = trajectory(sgd({ lr: 0.1, momentum: 0.9 }), p0(), handGrads)
    expectValuesClose(got[0]!, asValues(0.95, -2.1, 0.6))
    expectValuesClose(got[1]!, asValues(0.805, -2.09, 0.49))
    expectValuesClose(got[2]!, asValues(0.7245, -2.081, 0.291))
  })

  it('nesterov: same trace, p -= lr (g + m t)', () => {
    // traces as above. u1 = g1 + 0.9 g1 = [0.95, 1.9], c -1.9 -> p1 = [0.905, -2.19], c 0.69
    // u2 = [1, -1] + 0.9 [1.45, -0.1] = [2.305, -1.09], c: 2 + 0.99 = 2.99 -> p2 = [0.6745, -2.081], c 0.391
    // u3 = [-0.5, 0] + 0.9 [0.805, -0.09] = [0.2245, -0.081], c: 1 + 1.791 -> p3 = [0.65205, -2.0729], c 0.1119
    const got = trajectory(sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), p0(), handGrads)
    expectValuesClose(got[0]!, asValues(0.905, -2.19, 0.69))
    expectValuesClose(got[1]!, asValues(0.6745, -2.081, 0.391))
    expectValuesClose(got[2]!, asValues(0.65205, -2.0729, 0.1119))
  })

  it('adam: bias-corrected mu / (sqrt(nu) + eps)', () => {
    // lr 0.1, b1 0.9, b2 0.999. Step 1: mu = 0.1 g, nu = 0.001 g², mu^ = g, nu^ = g², u = sign(g)
    //   -> p1 = [0.9, -2.1], c 0.6
    // Step 2: mu = 0.09 g1 + 0.1 g2, nu = 0.000999 g1² + 0.001 g2², corrections 0.19 and 0.001999
    //   w0: mu = 0.145, mu^ = 0.7631579; nu = 0.00124975, nu^ = 0.6251876, sqrt 0.7906880; u = 0.9651820
    //       p = 0.9 - 0.0965182 = 0.8034818
    //   w1: mu = -0.01, mu^ = -0.0526316; nu^ = 0.001999 / 0.001999 = 1; p = -2.1 + 0.0052632 = -2.0947368
    //   c:  mu = 0.11, mu^ = 0.5789474; nu = 0.004999, nu^ = 2.5007504, sqrt 1.5813761; u = 0.3661035
    //       p = 0.6 - 0.0366104 = 0.5633896
    const got = trajectory(adam({ lr: 0.1 }), p0(), handGrads.slice(0, 2))
    expectValuesClose(got[0]!, asValues(0.9, -2.1, 0.6))
    expectValuesClose(got[1]!, asValues(0.8034818, -2.0947368, 0.5633896))
  })

  it('adamw: decoupled decay, p -= lr (adam + wd p)', () => {
    // lr 0.1, wd 0.1. Step 1: u = sign(g1) + 0.1 p0 = [1.1, 0.8], c: -1 + 0.05 = -0.95
    //   -> p1 = [0.89, -2.08], c 0.595
    // Step 2: adam part as in the adam test, [0.9651820, -0.0526316], c 0.3661035; plus 0.1 p1
    //   w0: 0.89 - 0.1 (0.9651820 + 0.089) = 0.7845818
    //   w1: -2.08 - 0.1 (-0.0526316 - 0.208) = -2.0539368
    //   c:  0.595 - 0.1 (0.3661035 + 0.0595) = 0.5524396
    const got = trajectory(adamw({ lr: 0.1, weightDecay: 0.1 }), p0(), handGrads.slice(0, 2))
    expectValuesClose(got[0]!, asValues(0.89, -2.08, 0.595))
    expectValuesClose(got[1]!, asValues(0.7845818, -2.0539368, 0.5524396))
  })

  it('adamw mask: masked-out leaves get plain adam', () => {
    // only w decays: c moves by lr sign(g1) = 0.1 as in adam, w as in adamw
    const optimizer = adamw({ lr: 0.1, weightDecay: 0.1, mask: (path) => path === 'w' })
    const got = trajectory(optimizer, p0(), handGrads.slice(0, 1))
    expectValuesClose(got[0]!, asValues(0.89, -2.08, 0.6))
  })

  it('rmsprop: v = a v + (1 - a) g², p -= lr g / (sqrt(v) + eps)', () => {
    // lr 0.01, alpha 0.99. Step 1: v = 0.01 g², u = g / (0.1 |g|) = 10 sign(g) -> p1 = [0.9, -2.1], c 0.6
    // Step 2: v = 0.0099 g1² + 0.01 g2²
    //   w0: v = 0.012475, sqrt 0.1116915, u = 8.953229 -> p = 0.9 - 0.0895323 = 0.8104677
    //   w1: v = 0.0199, sqrt 0.1410674, u = -7.088812 -> p = -2.1 + 0.0708881 = -2.0291119
    //   c:  v = 0.0499, sqrt 0.2233831, u = 8.953232 -> p = 0.6 - 0.0895323 = 0.5104677
    const got = trajectory(rmsprop({ lr: 0.01 }), p0(), handGrads.slice(0, 2))
    expectValuesClose(got[0]!, asValues(0.9, -2.1, 0.6))
    expectValuesClose(got[1]!, asValues(0.8104677, -2.0291119, 0.5104677))
  })

  it('rmsprop centered: divides by sqrt(v - m²)', () => {
    // Step 1: v = 0.01 g², m = 0.01 g, v - m² = 0.0099 g², root 0.0994987 |g|, u = 10.050378 sign(g)
    //   -> p moves by 0.01 * 10.050378 = 0.1005038: p1 = [0.8994962, -2.1005038], c 0.6005038
    // Step 2, w0: v = 0.012475, m = 0.0099 * 0.5 + 0.01 = 0.01495, v - m² = 0.0122515,
    //   root 0.1106865, u = 9.034527 -> p = 0.8994962 - 0.0903453 = 0.8091509
    //   w1: v = 0.0199, m = 0.0099 - 0.01 = -0.0001, v - m² = 0.01989999, root 0.1410673,
    //   u = -7.088814 -> p = -2.1005038 + 0.0708881 = -2.0296157
    //   c: v = 0.0499, m = -0.0099 + 0.02 = 0.0101, v - m² = 0.04979799, root 0.2231546,
    //   u = 8.962396 -> p = 0.6005038 - 0.089624 = 0.5108798
    const got = trajectory(rmsprop({ lr: 0.01, centered: true }), p0(), handGrads.slice(0, 2))
    expectValuesClose(got[0]!, asValues(0.8994962, -2.1005038, 0.6005038))
    expectValuesClose(got[1]!, asValues(0.8091509, -2.0296157, 0.5108798))
  })

  it('rmsprop with momentum: b = m b + g / (sqrt(v) + eps), p -= lr b', () => {
    // b1 = 10 sign(g1); b2 = 0.9 b1 + u2 = w0: 9 + 8.953229 = 17.953229 -> p = 0.9 - 0.1795323 = 0.7204677
    //   w1: 9 - 7.088812 = 1.911188 -> p = -2.1 - 0.0191119 = -2.1191119
    //   c: -9 + 8.953232 = -0.046768 -> p = 0.6 + 0.0004677 = 0.6004677
    const got = trajectory(rmsprop({ lr: 0.01, momentum: 0.9 }), p0(), handGrads.slice(0, 2))
    expectValuesClose(got[1]!, asValues(0.7204677, -2.1191119, 0.6004677))
  })
})

describe('clipping and weight decay on hand-computed values', () => {
  const g = () => tinyTree(3, 0, 4) // global norm sqrt(9 + 0 + 16) = 5; per-leaf norms 3 and 4

  it('globalNorm is the norm of all leaves together', () => {
    tf.tidy(() => {
      expect(globalNorm(g()).dataSync()[0]).toBeCloseTo(5, 6)
    })
  })

  it('clipByGlobalNorm scales every leaf by max / ||g|| when above the limit, else keeps it', () => {
    tf.tidy(() => {
      const t = clipByGlobalNorm(1)
      // factor 1/5: w [0.6, 0], c [0.8] (per-leaf clipping would give [1, 0] and [1])
      expectValuesClose(valuesOf(t.update(g(), t.init(g()), g())[0]), asValues(0.6, 0, 0.8))
      const loose = clipByGlobalNorm(10)
      expectValuesClose(valuesOf(loose.update(g(), null, g())[0]), asValues(3, 0, 4))
      // a zero gradient stays zero (no 0/0)
      expectValuesClose(valuesOf(t.update(tinyTree(0, 0, 0), null, g())[0]), asValues(0, 0, 0))
    })
  })

  it('clipByValue clamps elementwise', () => {
    tf.tidy(() => {
      const t = clipByValue(0.5)
      expectValuesClose(valuesOf(t.update(tinyTree(3, -0.2, -4), null, g())[0]), asValues(0.5, -0.2, -0.5))
    })
  })

  it('addDecayedWeights adds wd * param where the mask allows', () => {
    tf.tidy(() => {
      const params = tinyTree(1, -2, 0.5)
      const all = addDecayedWeights({ weightDecay: 0.5 })
      // [1 + 0.5, 1 - 1], c: 1 + 0.25
      expectValuesClose(valuesOf(all.update(tinyTree(1, 1, 1), null, params)[0]), asValues(1.5, 0, 1.25))
      const onlyC = addDecayedWeights({ weightDecay: 0.5, mask: (path) => path === 'b/c' })
      expectValuesClose(valuesOf(onlyC.update(tinyTree(1, 1, 1), null, params)[0]), asValues(1, 1, 1.25))
    })
  })
})
