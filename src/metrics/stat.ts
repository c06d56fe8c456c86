import type * as tf from '@tensorflow/tfjs-core'
import type { Monoid } from 'fp-ts/lib/Monoid.js'

/**
 * A batch's contribution to a mean: the sum of a per-example quantity and how many examples (or
 * elements) it covers. Metrics return `Stat`s rather than batch means so that an epoch's value
 * is exact (total sum over total weight), not an average of batch averages. The sum may still be
 * a tensor (inside a step) or already a number (after read-back).
 *
 * @example
 * const meanAbsLogit = (l: tf.Tensor): Stat => ({ sum: tf.sum(tf.abs(l)) as tf.Scalar, weight: l.size })
 * const logs: Logs = { 'val/meanAbsLogit': meanAbsLogit(logits) } // a metric of your own
 */
export interface Stat<N = tf.Scalar | number> {
  readonly sum: N
  readonly weight: number
}

/**
 * A stat read back to the host.
 *
 * @example
 * const first: metrics.HostStat = { sum: 30, weight: 32 } // 30 of 32 right
 * const second: metrics.HostStat = { sum: 28, weight: 32 }
 * metrics.statValue(metrics.statMonoid.concat(first, second)) // 0.90625
 */
export type HostStat = Stat<number>

/**
 * Stats merge by adding sums and weights: a monoid, so any grouping of batches gives the same epoch value.
 *
 * @example
 * const batchStats: metrics.HostStat[] = [{ sum: 3, weight: 4 }, { sum: 1, weight: 4 }]
 * const epoch = batchStats.reduce(metrics.statMonoid.concat, metrics.statMonoid.empty)
 * metrics.statValue(epoch) // 0.5: 4 right of 8
 */
export const statMonoid: Monoid<HostStat> = {
  empty: { sum: 0, weight: 0 },
  concat: (a, b) => ({ sum: a.sum + b.sum, weight: a.weight + b.weight }),
}

/**
 * The mean a stat stands for (NaN when it covers nothing).
 *
 * @example
 * metrics.statValue({ sum: 3, weight: 4 }) // 0.75
 * metrics.statValue(metrics.statMonoid.empty) // NaN
 */
export const statValue = (s: HostStat): number => (s.weight === 0 ? Number.NaN : s.sum / s.weight)

/**
 * Runtime test used by the logger to tell a stat from a plain scalar.
 *
 * @example
 * const logs: Logs = { 'train/loss': 0.25, 'train/acc': metrics.accuracy(logits, labels) }
 * for (const [name, v] of Object.entries(logs)) if (metrics.isStat(v)) console.log(name, 'covers', v.weight, 'examples')
 */
export const isStat = (u: unknown): u is Stat =>
  typeof u === 'object' && u !== null && 'sum' in u && 'weight' in u && typeof (u as { weight: unknown }).weight === 'number'
