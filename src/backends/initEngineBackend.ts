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

/** The process-wide error events a backend's start-up code may listen to. */
const errorEvents = ['uncaughtException', 'unhandledRejection'] as const

/**
 * Runs `f`, then removes the listeners for uncaught errors that it added to the process.
 * Emscripten's glue (the wasm backend) adds some that rethrow from inside the handler, so any
 * later uncaught error, the user's too, printed ~38 KB of minified glue and exited with code 7;
 * without them node prints the error and exits 1, as on the other backends.
 */
const keepingProcessErrorHandling = async <A>(f: () => Promise<A>): Promise<A> => {
  if (typeof process === 'undefined' || typeof process.listeners !== 'function') return f()
  // The two events' listener types differ; only identity matters here.
  const emitter = process as unknown as { listeners(event: string): unknown[]; off(event: string, listener: unknown): unknown }
  const before = new Map(errorEvents.map((event) => [event, new Set(emitter.listeners(event))]))
  try {
    return await f()
  } finally {
    for (const event of errorEvents) for (const listener of emitter.listeners(event)) if (!before.get(event)?.has(listener)) emitter.off(event, listener)
  }
}

const initialise = (
  name: BackendName,
  load: () => Promise<void>,
  make: () => Backend | Promise<Backend>,
  engineName: string,
  remedy: string,
): Promise<E.Either<BackendError, Backend>> => keepingProcessErrorHandling(() => initialiseIn(name, load, make, engineName, remedy))

const initialiseIn = async (
  name: BackendName,
  load: () => Promise<void>,
  make: () => Backend | Promise<Backend>,
  engineName: string,
  remedy: string,
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
      rxtrainError('BackendError', `the ${name} backend failed to initialise: ${await failureReason(engineName)}`, remedy, {
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
  remedy = "choose accelerator: 'cpu'.",
): TE.TaskEither<BackendError, Backend> => {
  let outcome: Promise<E.Either<BackendError, Backend>> | undefined
  return async () => {
    outcome ??= initialise(name, load, make, engineName, remedy)
    const result = await outcome
    if (E.isRight(result)) result.right.activate()
    return result
  }
}
