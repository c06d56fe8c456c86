import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { isRxtrainError, messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { Backend, BackendName } from './backend.js'

type BackendError = RxtrainError<'BackendError'>

/** Why a registered backend failed to initialise: its factory's own error, when it throws one. */
const failureReason = async (name: string): Promise<string> => {
  const factory = tf.findBackendFactory(name)
  if (factory === null) return `no ${name} backend is registered`
  try {
    await factory()
    return 'tf.setBackend returned false'
  } catch (e) {
    return messageOf(e)
  }
}

const initialise = async (
  name: BackendName,
  load: () => Promise<void>,
  make: () => Backend | Promise<Backend>,
  engineName: string,
): Promise<E.Either<BackendError, Backend>> => {
  try {
    await load()
  } catch (e) {
    if (isRxtrainError(e) && e.tag === 'BackendError') return E.left(e as BackendError)
    return E.left(
      rxtrainError('BackendError', `the ${name} backend's package could not be loaded: ${messageOf(e)}`, "reinstall dependencies with `npm ci`, or choose accelerator: 'cpu'.", {
        backend: name,
      }),
    )
  }
  let ok = false
  try {
    ok = await tf.setBackend(engineName)
    await tf.ready()
  } catch {
    ok = false
  }
  if (!ok || tf.getBackend() !== engineName)
    return E.left(
      rxtrainError('BackendError', `the ${name} backend failed to initialise: ${await failureReason(engineName)}`, "choose accelerator: 'cpu'.", {
        backend: name,
      }),
    )
  return E.right(await make())
}

/**
 * Loads a backend's package, initialises it in the engine and returns its capability record,
 * or a `BackendError` that says why not. The first attempt's outcome is remembered: a backend
 * initialises once per process, and one that failed is not retried on every run. Running the
 * task again makes an initialised backend current again.
 */
export const initEngineBackend = (
  name: BackendName,
  load: () => Promise<void>,
  make: () => Backend | Promise<Backend>,
  engineName: string = name,
): TE.TaskEither<BackendError, Backend> => {
  let outcome: Promise<E.Either<BackendError, Backend>> | undefined
  return async () => {
    outcome ??= initialise(name, load, make, engineName)
    const result = await outcome
    if (E.isRight(result)) result.right.activate()
    return result
  }
}
