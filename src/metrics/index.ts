/**
 * Metrics as pure accumulators: each returns a `Stat` (a batch's sum and weight), or for metrics
 * that are not means (precision, F1, AUROC, R², a confusion matrix) a `MetricState` (a batch's
 * sufficient statistics); both merge as monoids, so epoch values are exact rather than averages
 * of batch averages, and merge across DDP's ranks.
 *
 * @example
 * import { metrics } from 'rxtrain'
 * const logs = { 'val/loss': metrics.crossEntropy(logits, labels), 'val/acc': metrics.accuracy(logits, labels) }
 */
export { accuracy, crossEntropy } from './classification.js'
export { mae, mape, mse, explainedVariance, r2 } from './regression.js'
export { isStat, statMonoid, statValue } from './stat.js'
export type { HostStat, Stat } from './stat.js'
export { confusion, f1, precision, recall } from './classMetrics.js'
export type { ClassMetricOptions } from './classMetrics.js'
export { auroc, averagePrecision, rankingErrorBound } from './rankingMetrics.js'
export type { RankingOptions } from './rankingMetrics.js'
export { confusionMatrix, isMetricState, metricMonoid, metricValue } from './metricState.js'
export type { Average, HostMetricState, MetricSpec, MetricState } from './metricState.js'
