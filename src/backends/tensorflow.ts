import * as tf from '@tensorflow/tfjs-core'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { type Backend, engineBackend } from './backend.js'
import { initEngineBackend } from './initEngineBackend.js'
import { isMissingPackage } from './optionalPeer.js'
import './gradients.js'

type Variant = 'tensorflow' | 'tensorflow-gpu'

const packages: Record<Variant, string> = { tensorflow: '@tensorflow/tfjs-node', 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu' }

/** What each package needs besides itself, for the messages. */
const needs: Record<Variant, string> = {
  tensorflow: 'its install script downloads libtensorflow 2.9.1 (CPU), so it needs internet access at install time',
  'tensorflow-gpu': 'its install script downloads libtensorflow 2.9.1 (GPU), so it needs internet access at install time, and it runs only with CUDA 11.2 and cuDNN 8.1 on an NVIDIA GPU',
}

const installHint = (variant: Variant): string =>
  `install it where the install can download: \`npm install ${packages[variant]}@${tf.version_core}\` (an optional peer dependency: rxtrain never installs it), or choose accelerator: 'wasm'.`

/** Whether this runtime is Node (tfjs-node is a native addon: nowhere else can it load). */
const inNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string'

/**
 * Loads `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu` by name (so that nothing needs it
 * at build time) and turns each way of failing into a sentence that says what is missing.
 * `importer` is the dynamic import and `node` whether this is Node, both replaceable in tests.
 * In a browser it does not try: a page's failed import would read as a broken install.
 */
export const loadTensorflowPackage = async (variant: Variant, importer: (specifier: string) => Promise<unknown> = (s) => import(s), node: boolean = inNode()): Promise<void> => {
  const pkg = packages[variant]
  if (!node)
    throw rxtrainError('BackendError', `the ${variant} backend runs only in Node (${pkg} is a native addon over libtensorflow)`, "in a browser, choose accelerator: 'wasm' or 'webgpu'.", {
      backend: variant,
    })
  try {
    await importer(pkg)
  } catch (e) {
    if (isMissingPackage(e, pkg))
      throw rxtrainError('BackendError', `the ${variant} backend needs ${pkg}, which is not installed (${needs[variant]})`, installHint(variant), { backend: variant })
    throw rxtrainError(
      'BackendError',
      `${pkg} is installed but failed to load: ${messageOf(e).split('\n')[0]}. Its native part (libtensorflow 2.9.1${variant === 'tensorflow-gpu' ? ', CUDA 11.2, cuDNN 8.1' : ''}) is missing or does not match this machine`,
      `reinstall it where its install script can download libtensorflow (\`npm rebuild ${pkg}\`), or choose accelerator: 'wasm'.`,
      { backend: variant },
    )
  }
}

const make =
  (variant: Variant) =>
  (): Backend => ({
    ...engineBackend('tensorflow', variant === 'tensorflow-gpu' ? 'gpu' : 'cpu', `${variant} (${packages[variant]}, libtensorflow, tfjs ${tf.version_core})`),
    name: variant,
  })

/** TensorFlow's C library through `@tensorflow/tfjs-node` (optional; loaded on first use). */
export const tensorflowBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = initEngineBackend('tensorflow', () => loadTensorflowPackage('tensorflow'), make('tensorflow'), 'tensorflow')

/** TensorFlow's C library with CUDA through `@tensorflow/tfjs-node-gpu` (optional; loaded on first use). */
export const tensorflowGpuBackend: TE.TaskEither<RxtrainError<'BackendError'>, Backend> = initEngineBackend(
  'tensorflow-gpu',
  () => loadTensorflowPackage('tensorflow-gpu'),
  make('tensorflow-gpu'),
  'tensorflow',
)
