import type * as tf from '@tensorflow/tfjs-core'
import type { Monoid } from 'fp-ts/lib/Monoid.js'

/**
 * A batch's contribution to a mean: the sum of a per-example quantity and how many examples (or
 * elements) it covers. Metrics return `Stat`s rather than batch means so that an epoch's value
 * is exact (total sum over total weight), not an average of batch averages. The sum may still be
 * a tensor (inside a step) or already a number (after read-back).
 */
export interface Stat<N = tf.Scalar | number> {
  readonly sum: N
  readonly weight: number
}

/** A stat read back to the host. */
export type HostStat = Stat<number>

/** Stats merge by adding sums and weights: a monoid, so any grouping of batches gives the same epoch value. */
export const statMonoid: Monoid<HostStat> = {
  empty: { sum: 0, weight: 0 },
  concat: (a, b) => ({ sum: a.sum + b.sum, weight: a.weight + b.weight }),
}

/** The mean a stat stands for (NaN when it covers nothing). */
export const statValue = (s: HostStat): number => (s.weight === 0 ? Number.NaN : s.sum / s.weight)

/** Runtime test used by the logger to tell a stat from a plain scalar. */
export const isStat = (u: unknown): u is Stat =>
  typeof u === 'object' && u !== null && 'sum' in u && 'weight' in u && typeof (u as { weight: unknown }).weight === 'number'
