/**
 * Metrics as pure accumulators: each returns a `Stat` (a batch's sum and weight), and stats
 * merge as a monoid, so epoch values are exact rather than averages of batch averages.
 *
 * @example
 * validationStep: (model, { x, y }, ctx) => ({ 'val/acc': metrics.accuracy(net.apply(model, x, ctx).y, y) })
 */
export { accuracy, crossEntropy } from './classification.js'
export { mae, mse } from './regression.js'
export { isStat, statMonoid, statValue } from './stat.js'
export type { HostStat, Stat } from './stat.js'
