import { filter, map, type OperatorFunction } from 'rxjs'
import type { Model } from '../nn/layer.js'
import type { FitEvent } from '../pipeline/events.js'
import { cloneTree, type Params } from '../tree/tree.js'

/**
 * Ends a fit pipeline with the trained variables: at `fitEnd` it emits a copy of the final
 * `{ params, state }` that you own (dispose it with `disposeTree` when done). The loop releases
 * its own state when the run ends, so this copy is how a model leaves `fit`.
 *
 * @example
 * const model = await lastValueFrom(fit(module, data, { maxEpochs: 3 }).pipe(printMetrics(), trainedModel<P, S>()))
 */
export const trainedModel = <P extends Params = Params, S extends Params = Params>(): OperatorFunction<FitEvent, Model<P, S>> => (source) =>
  source.pipe(
    filter((e) => e.type === 'fitEnd'),
    map((e) => cloneTree({ params: e.state.params, state: e.state.state }) as Model<P, S>),
  )
