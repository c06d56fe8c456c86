import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import type { Backend } from './backend.js'
import { cpuBackend } from './cpu.js'
import { wasmBackend } from './wasm.js'

/** Lightning's `accelerator` option; `auto` picks the fastest backend that initialises here. */
export type Accelerator = 'auto' | 'cpu' | 'wasm'

export const accelerators: readonly Accelerator[] = ['auto', 'cpu', 'wasm']

/**
 * The backend for an accelerator choice. `auto` is wasm when it initialises, else cpu; an
 * explicit choice that fails to initialise is an error, never a silent fallback.
 *
 * @example
 * const backend = await resolveAccelerator('auto')()   // Either<BackendError, Backend>
 */
export const resolveAccelerator = (accelerator: Accelerator): TE.TaskEither<RxtrainError<'BackendError'>, Backend> => {
  switch (accelerator) {
    case 'cpu':
      return cpuBackend
    case 'wasm':
      return wasmBackend
    case 'auto':
      return pipe(
        wasmBackend,
        TE.orElse(() => cpuBackend),
      )
  }
}
