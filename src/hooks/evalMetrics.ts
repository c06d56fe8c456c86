import { filter, map, type OperatorFunction } from 'rxjs'
import type { EvalEvent, Metrics } from '../pipeline/events.js'

/**
 * The metrics of a `validate` or `test` run (its `evalEnd` event). A plain operator, not a hook:
 * the metrics are numbers already read back, nothing borrowed, so the run need not wait for it
 * and it gives the same result behind asynchronous operators.
 *
 * @example
 * const metrics = await lastValueFrom(validate(module, model, { val }).pipe(evalMetrics()))
 * console.log(metrics['val/acc']) // 0.9712
 */
export const evalMetrics = (): OperatorFunction<EvalEvent, Metrics> => (source) =>
  source.pipe(
    filter((e) => e.type === 'evalEnd'),
    map((e) => e.metrics),
  )
