import type * as TE from 'fp-ts/lib/TaskEither.js'
import * as E from 'fp-ts/lib/Either.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { Backend } from './backend.js'

/** Placeholder until the WebGPU backend lands. */
export const webgpuBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = async () =>
  E.left(rxtrainError('BackendError', 'the webgpu backend is not available yet', "choose accelerator: 'wasm'.", { backend: 'webgpu' }))
