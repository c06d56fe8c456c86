/**
 * Metrics as pure accumulators: each returns a `Stat` (a batch's sum and weight), and stats
 * merge as a monoid, so epoch values are exact rather than averages of batch averages.
 *
 * @example
 * import { metrics } from 'rxtrain'
 * const logs = { 'val/loss': metrics.crossEntropy(logits, labels), 'val/acc': metrics.accuracy(logits, labels) }
 */
export { accuracy, crossEntropy } from './classification.js'
export { mae, mse } from './regression.js'
export { isStat, statMonoid, statValue } from './stat.js'
export type { HostStat, Stat } from './stat.js'
