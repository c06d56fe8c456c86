import * as tf from '@tensorflow/tfjs-core'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { Backend, BackendName } from './backend.js'

/**
 * Loads a backend's package, initialises it in the engine and returns its capability record,
 * or a `BackendError` that says why not. Initialisation leaves the new backend current.
 */
export const initEngineBackend =
  (
    name: BackendName,
    load: () => Promise<void>,
    make: () => Backend | Promise<Backend>,
  ): TE.TaskEither<RxtrainError<'BackendError'>, Backend> =>
  async () => {
    try {
      await load()
    } catch (e) {
      return {
        _tag: 'Left',
        left: rxtrainError(
          'BackendError',
          `the ${name} backend's package could not be loaded: ${messageOf(e)}`,
          `reinstall dependencies with \`npm ci\`, or choose accelerator: 'cpu'.`,
          { backend: name },
        ),
      }
    }
    let ok = false
    let reason = 'tf.setBackend returned false'
    try {
      ok = await tf.setBackend(name)
      await tf.ready()
    } catch (e) {
      reason = messageOf(e)
    }
    if (!ok || tf.getBackend() !== name)
      return {
        _tag: 'Left',
        left: rxtrainError('BackendError', `the ${name} backend failed to initialise: ${reason}`, `choose accelerator: 'cpu'.`, {
          backend: name,
        }),
      }
    return { _tag: 'Right', right: await make() }
  }
