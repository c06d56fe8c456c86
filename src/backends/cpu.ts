import * as tf from '@tensorflow/tfjs-core'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend } from './backend.js'
import { registerCpuAdam } from './cpuAdam.js'
import type { FusedAdam } from './fusedAdam.js'
import { initEngineBackend } from './initEngineBackend.js'
import './gradients.js'

let adam: FusedAdam | undefined

/** The pure-JavaScript backend: always available, slowest. Offers the fused Adam kernel. */
export const cpuBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = initEngineBackend(
  'cpu',
  async () => {
    await import('@tensorflow/tfjs-backend-cpu')
    adam = registerCpuAdam()
  },
  () => engineBackend('cpu', 'cpu', `cpu (pure JavaScript, tfjs ${tf.version_core})`, { kernels: { adam } }),
)
