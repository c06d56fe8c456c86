import { defer, filter, map, type OperatorFunction } from 'rxjs'
import { hook } from '../flow/hook.js'
import { perform } from '../flow/hookEffect.js'
import type { Model } from '../nn/layer.js'
import type { FitEvent } from '../pipeline/events.js'
import { cloneTree, type Params } from '../tree/tree.js'

/**
 * Ends a fit pipeline with the trained variables: at `fitEnd` it emits a copy of the final
 * `{ params, state }` that you own (dispose it with `disposeTree` when done). The loop releases
 * its own state when the run ends, so this copy is how a model leaves `fit`. It is a hook on
 * `fitEnd`: the copy is taken while the run waits for it, before anything is released, also
 * when an asynchronous operator (`observeOn`, `delay`) delivers `fitEnd` late.
 *
 * @example
 * const model = await lastValueFrom(fit(module, { train, val }, { maxEpochs: 3 }).pipe(printMetrics(), trainedModel()))
 * disposeTree(model) // when done with it
 */
export const trainedModel =
  <P extends Params = Params, S extends Params = Params>(): OperatorFunction<FitEvent, Model<P, S>> =>
  (source) =>
    defer(() => {
      /** The copy taken at fitEnd, handed on just after (the hook hands fitEnd on once its work is started). */
      let copy: Model<P, S> | undefined
      return source.pipe(
        hook<null, FitEvent>({
          kind: 'trainedModel',
          on: ['fitEnd'],
          init: () => null,
          step: (s, e) =>
            e.type === 'fitEnd'
              ? [
                  s,
                  [
                    perform(() => {
                      copy = cloneTree({ params: e.state.params, state: e.state.state }) as Model<P, S>
                    }),
                  ],
                ]
              : [s],
        }),
        filter((e) => e.type === 'fitEnd' && copy !== undefined),
        map(() => {
          const model = copy as Model<P, S>
          copy = undefined
          return model
        }),
      )
    })
