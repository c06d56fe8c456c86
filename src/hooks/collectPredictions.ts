import * as tf from '@tensorflow/tfjs-core'
import { concat, defer, EMPTY, finalize, ignoreElements, of, type OperatorFunction } from 'rxjs'
import { hook } from '../flow/hook.js'
import { perform } from '../flow/hookEffect.js'
import type { PredictEvent } from '../pipeline/events.js'

/**
 * Gathers a `predict` run's outputs into one tensor (concatenated along the batch axis) that
 * you own. It is a hook on `predictStep`: each output is copied while the run waits for it, so
 * nothing borrowed is kept, also when an asynchronous operator (`observeOn`, `delay`) delivers
 * the events late.
 *
 * @example
 * const predictions = await lastValueFrom(predict(module, model, { predict: val }).pipe(collectPredictions()))
 * console.log(predictions.shape) // [10000, 10]
 */
export const collectPredictions = (): OperatorFunction<PredictEvent, tf.Tensor> => (source) =>
  defer(() => {
    const parts: tf.Tensor[] = []
    const gathered = defer(() => (parts.length === 0 ? EMPTY : of(parts.length === 1 ? (parts.pop() as tf.Tensor) : tf.concat(parts, 0))))
    return concat(
      source.pipe(
        hook<null, PredictEvent>({
          kind: 'collectPredictions',
          on: ['predictStep'],
          init: () => null,
          step: (s, e) => (e.type === 'predictStep' ? [s, [perform(() => void parts.push(tf.clone(e.output)))]] : [s]),
        }),
        ignoreElements(),
      ),
      gathered,
    ).pipe(
      // The copies (not the tensor handed out): at the end, on error and on unsubscribe.
      finalize(() => {
        for (const p of parts.splice(0)) p.dispose()
      }),
    )
  })
