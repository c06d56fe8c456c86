import * as tf from '@tensorflow/tfjs-core'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend, type OptimizerKernels } from './backend.js'
import { registerCpuAdam, registerCpuAdamStep } from './cpuAdam.js'
import { initEngineBackend } from './initEngineBackend.js'
import './gradients.js'

let kernels: OptimizerKernels = {}

/** The pure-JavaScript backend: always available, slowest. Offers the fused Adam kernels. */
export const cpuBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = initEngineBackend(
  'cpu',
  async () => {
    await import('@tensorflow/tfjs-backend-cpu')
    kernels = { adam: registerCpuAdam(), adamStep: registerCpuAdamStep() }
  },
  () => engineBackend('cpu', 'cpu', `cpu (pure JavaScript, tfjs ${tf.version_core})`, { kernels }),
)
