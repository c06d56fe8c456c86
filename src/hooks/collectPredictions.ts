import * as tf from '@tensorflow/tfjs-core'
import { Observable, type OperatorFunction } from 'rxjs'
import type { PredictEvent } from '../pipeline/events.js'

/**
 * Gathers a `predict` run's outputs into one tensor (concatenated along the batch axis) that
 * you own. Each output is copied while its event is live, so nothing borrowed is kept.
 *
 * @example
 * const predictions = await lastValueFrom(predict(module, model, data).pipe(collectPredictions()))
 */
export const collectPredictions = (): OperatorFunction<PredictEvent, tf.Tensor> => (source) =>
  new Observable<tf.Tensor>((subscriber) => {
    const parts: tf.Tensor[] = []
    const release = (): void => {
      for (const p of parts.splice(0)) p.dispose()
    }
    const subscription = source.subscribe({
      next: (e) => {
        if (e.type === 'predictStep') parts.push(tf.clone(e.output))
      },
      error: (err: unknown) => {
        release()
        subscriber.error(err)
      },
      complete: () => {
        if (parts.length > 0) subscriber.next(parts.length === 1 ? (parts.pop() as tf.Tensor) : tf.concat(parts, 0))
        release()
        subscriber.complete()
      },
    })
    return () => {
      subscription.unsubscribe()
      release()
    }
  })
