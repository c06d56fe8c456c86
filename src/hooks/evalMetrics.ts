import { filter, map, type OperatorFunction } from 'rxjs'
import type { EvalEvent, Metrics } from '../pipeline/events.js'

/**
 * The metrics of a `validate` or `test` run (its `evalEnd` event).
 *
 * @example
 * const metrics = await lastValueFrom(test(module, model, data).pipe(evalMetrics()))
 * console.log(metrics['test/acc'])
 */
export const evalMetrics = (): OperatorFunction<EvalEvent, Metrics> => (source) =>
  source.pipe(
    filter((e) => e.type === 'evalEnd'),
    map((e) => e.metrics),
  )
