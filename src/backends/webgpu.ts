import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend } from './backend.js'
import './gradients.js'
import './webgpuHalf.js'
import { prepareWebGpu } from '#platform/webgpuDevice.js'
import { adapterName, type WebGpuSetup } from './webgpuAdapter.js'
import { registerWebGpuAdam, registerWebGpuAdamStep } from './webgpuAdam.js'
import { registerWebGpuDense } from './webgpuDense.js'
import { registerWebGpuCrossEntropy } from './webgpuLoss.js'

const describe = (s: WebGpuSetup): string => `webgpu (${s.where}${s.software ? ', software adapter' : ''}: ${adapterName(s.info)}; tfjs ${tf.version_core})`

/** What rxtrain reads of tfjs's WebGPUBackend: its device, to hear of validation errors. */
interface WebGpuBackendInternals {
  readonly device?: { addEventListener?(type: 'uncapturederror', listener: (e: { error: { message: string } }) => void): void }
}

type BackendTask = TE.TaskEither<RxtrainError<'BackendError'>, Backend>

const failed = (problem: string, remedy: string): E.Either<RxtrainError<'BackendError'>, Backend> =>
  E.left(rxtrainError('BackendError', problem, remedy, { backend: 'webgpu' }))

let registered: Promise<E.Either<RxtrainError<'BackendError'>, Backend>> | undefined

const initialise = async (allowSoftware: boolean): Promise<E.Either<RxtrainError<'BackendError'>, Backend>> => {
  // The platform's part: Dawn's adapter in Node, navigator.gpu in a browser; tfjs's 'webgpu'
  // factory is registered once it answers.
  const prepared = await prepareWebGpu(allowSoftware)
  if (E.isLeft(prepared)) return failed(prepared.left.problem, prepared.left.remedy)
  const setup = prepared.right
  // By default tfjs runs ops on small inputs on the CPU; rxtrain wants every op on the device
  // (that is what the conformance suite checks, and what a GPU run does).
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  try {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend returned false')
  } catch (e) {
    setup.release()
    return failed(`the webgpu backend failed to initialise: ${messageOf(e)}`, "choose accelerator: 'wasm'.")
  }
  // A validation error (a kernel beyond the device's limits) would otherwise give wrong numbers silently.
  ;(tf.backend() as WebGpuBackendInternals).device?.addEventListener?.('uncapturederror', (e) => console.error(`WebGPU error (results of this run are not reliable): ${e.error.message}`))
  // rxtrain's fused kernels: Adam per leaf, softmax cross-entropy with its gradient, dense with
  // bias and activation (and its gradient's elementwise part), each one dispatch (issue 19).
  const adam = registerWebGpuAdam()
  const adamStep = registerWebGpuAdamStep()
  registerWebGpuCrossEntropy()
  registerWebGpuDense()
  // Values are read back asynchronously: Node has no OffscreenCanvas, through which tfjs reads
  // WebGPU buffers synchronously; a page has one, but such a read blocks it while copying through
  // canvases. One behaviour on both, so a run's events are the same in Node and in a page.
  return E.right(engineBackend('webgpu', setup.software ? 'cpu' : 'gpu', describe(setup), { hostReads: false, kernels: { adam, adamStep } }))
}

/**
 * tfjs's WebGPU kernels and rxtrain's fused ones. In Node, through Dawn (the `webgpu` package):
 * Vulkan on a GPU; on a machine without one, Mesa's llvmpipe through OpenGL ES (`deviceKind`
 * `'cpu'`: correct, slow); its packages are loaded on first use. In a browser, on the page's
 * `navigator.gpu`, once the page has imported `@tensorflow/tfjs-backend-webgpu` (a SwiftShader
 * adapter is a software one too). Initialised once per process or page.
 */
export const webgpuBackend: BackendTask = async () => {
  registered ??= initialise(true)
  const result = await registered
  if (E.isRight(result)) result.right.activate()
  return result
}

/** As `webgpuBackend`, but only on a hardware adapter (what `accelerator: 'auto' | 'gpu'` try). */
export const webgpuHardwareBackend: BackendTask = async () => {
  if (registered === undefined) {
    const attempt = initialise(false)
    const result = await attempt
    // A failed hardware-only attempt leaves the software route open for an explicit 'webgpu'.
    if (E.isRight(result)) registered = attempt
    return result
  }
  const result = await registered
  if (E.isRight(result) && result.right.deviceKind !== 'gpu')
    return failed(`its only adapter is a software one (${result.right.description})`, "choose accelerator: 'webgpu' to use it anyway.")
  if (E.isRight(result)) result.right.activate()
  return result
}
