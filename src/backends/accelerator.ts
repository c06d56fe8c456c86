import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { Accelerator, AcceleratorChoice, SkippedBackend } from './acceleratorChoice.js'
import type { Backend } from './backend.js'
import type { BackendName } from './backendName.js'
import { cpuBackend } from './cpu.js'

export type { Accelerator, AcceleratorChoice, SkippedBackend } from './acceleratorChoice.js'

export const accelerators: readonly Accelerator[] = ['auto', 'cpu', 'gpu', 'wasm', 'webgpu', 'tensorflow', 'tensorflow-gpu']

type BackendResult = E.Either<RxtrainError<'BackendError'>, Backend>

/**
 * How to try one backend: initialise it (loading its package on first use) and make it current,
 * or say why it cannot run here. `hardwareOnly` is set when `'auto'` or `'gpu'` try it (webgpu
 * then refuses a software adapter).
 */
export type BackendProbe = (o: { readonly hardwareOnly: boolean }) => Promise<BackendResult>

/** A probe for every backend: what `selectBackend` tries, by name, in `candidatesOf`'s order. */
export type BackendProbes = Readonly<Record<BackendName, BackendProbe>>

/** The live probes: each backend's initialisation, loaded only when it is tried (so a run pays for what it uses). */
export const liveBackends: BackendProbes = {
  cpu: () => cpuBackend(),
  wasm: async () => (await import('./wasm.js')).wasmBackend(),
  webgpu: async ({ hardwareOnly }) => {
    const webgpu = await import('./webgpu.js')
    return (hardwareOnly ? webgpu.webgpuHardwareBackend : webgpu.webgpuBackend)()
  },
  tensorflow: async () => (await import('./tensorflow.js')).tensorflowBackend(),
  'tensorflow-gpu': async () => (await import('./tensorflow.js')).tensorflowGpuBackend(),
}

/** The order in which an accelerator tries backends. */
export const candidatesOf = (accelerator: Accelerator): readonly BackendName[] => {
  switch (accelerator) {
    case 'auto':
      return ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']
    case 'gpu':
      return ['tensorflow-gpu', 'webgpu']
    default:
      return [accelerator]
  }
}

/** A probe's outcome; one that throws (a broken package) is a failure with its message, not a crash. */
const tryProbe = async (probe: BackendProbe, name: BackendName, hardwareOnly: boolean): Promise<BackendResult> => {
  try {
    return await probe({ hardwareOnly })
  } catch (e) {
    return E.left(rxtrainError('BackendError', `the ${name} backend failed to start: ${messageOf(e)}`, "choose accelerator: 'cpu'.", { backend: name }))
  }
}

/**
 * Picks and initialises the backend for an accelerator choice, and says what it chose and why it
 * passed over the others. An explicit backend that fails, or `'gpu'` with no GPU backend, is a
 * `BackendError` that names every backend tried and the reason: never a silent fallback.
 * `backends` are the probes it tries (the live ones by default; a test passes fakes).
 *
 * @example
 * const chosen = await selectBackend('auto')()
 * // Right({ backend: <wasm>, choice: { backend: 'wasm', skipped: [{ backend: 'tensorflow-gpu', reason: '... not installed ...' }, ...] } })
 */
export const selectBackend =
  (
    accelerator: Accelerator,
    /** What the run needs synchronous reads for (e.g. `strategy 'ddp'`): `auto` and `gpu` then pass over backends without them. */
    needsHostReads?: string,
    backends: BackendProbes = liveBackends,
  ): TE.TaskEither<RxtrainError<'BackendError'>, { readonly backend: Backend & { readonly choice: AcceleratorChoice }; readonly choice: AcceleratorChoice }> =>
  async () => {
    const skipped: SkippedBackend[] = []
    let lastError: RxtrainError<'BackendError'> | undefined
    for (const name of candidatesOf(accelerator)) {
      // `auto` and `gpu` take webgpu only on a hardware adapter (llvmpipe is slower than wasm).
      const result = await tryProbe(backends[name], name, accelerator !== name)
      if (E.isLeft(result)) {
        lastError = result.left
        skipped.push({ backend: name, reason: result.left.problem })
        continue
      }
      if (needsHostReads !== undefined && !result.right.hostReads && accelerator !== name) {
        skipped.push({ backend: name, reason: `it cannot read values synchronously, which ${needsHostReads} needs` })
        continue
      }
      result.right.activate()
      const choice: AcceleratorChoice = { requested: accelerator, backend: name, description: result.right.description, skipped }
      return E.right({ backend: { ...result.right, choice }, choice })
    }
    if (skipped.length === 1 && lastError !== undefined) return E.left(lastError)
    return E.left(
      rxtrainError(
        'BackendError',
        `no backend for accelerator '${accelerator}' initialised here:\n${skipped.map((s) => `  - ${s.backend}: ${s.reason}`).join('\n')}`,
        accelerator === 'gpu'
          ? "install @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1) or run where WebGPU finds a GPU (Vulkan), or choose accelerator: 'auto'."
          : "choose accelerator: 'auto'.",
        { accelerator, tried: skipped.map((s) => s.backend) },
      ),
    )
  }

/**
 * Starts the backend for an accelerator (Lightning's `accelerator` option): initialises it,
 * loading its package on first use, and makes it the engine's current backend. `fit` does this
 * itself from `options.accelerator`; call it to hand a run an initialised backend
 * (`fit(module, data, options, { backend })`), to compute outside a run, or to compare backends.
 * A TaskEither: nothing happens until it is called. It fails with a `BackendError` that names
 * every backend tried and why (an explicit backend that cannot start, or `'gpu'` with no GPU
 * backend): never a silent fallback. The backend's `choice` says what was picked and what was
 * passed over (see `describeChoice`).
 *
 * `needsHostReads` names what needs synchronous reads (e.g. `"strategy 'ddp'"`): `'auto'`
 * and `'gpu'` then pass over backends without them. `backends` are the probes tried (the live
 * ones by default; tests pass fakes).
 *
 * @example
 * const backend = await startBackend('auto')()   // Either<BackendError, Backend>
 * if (E.isRight(backend)) console.log(describeChoice(backend.right.choice))
 * // "training on wasm (XNNPACK, SIMD, 1 thread, tfjs 4.22.0), accelerator 'auto'; passed over tensorflow-gpu (...), ..."
 */
export const startBackend =
  (
    accelerator: Accelerator,
    needsHostReads?: string,
    backends: BackendProbes = liveBackends,
  ): TE.TaskEither<RxtrainError<'BackendError'>, Backend & { readonly choice: AcceleratorChoice }> =>
  async () =>
    E.map((s: { backend: Backend & { readonly choice: AcceleratorChoice } }) => s.backend)(await selectBackend(accelerator, needsHostReads, backends)())

/**
 * One line for people: what was chosen, from which request, and what was passed over and why.
 *
 * @example
 * fit(module, { train, val }).pipe(
 *   tap((e) => { if (e.type === 'fitStart') console.log(describeChoice(e.accelerator)) }),
 * ).subscribe()
 * // "training on wasm (XNNPACK, SIMD, 1 thread, tfjs 4.22.0), accelerator 'auto'; passed over tensorflow-gpu (...), webgpu (...)"
 */
export const describeChoice = (choice: AcceleratorChoice): string => {
  const passed = choice.skipped.length === 0 ? '' : `; passed over ${choice.skipped.map((s) => `${s.backend} (${shortReason(s.reason)})`).join(', ')}`
  return `training on ${choice.description}, ${requestOf(choice)}${passed}`
}

const requestOf = (choice: AcceleratorChoice): string => (choice.requested === 'env' ? 'given by the caller' : `accelerator '${choice.requested}'`)

/** The first clause of a reason is enough in a summary; the event holds the whole sentence. */
const shortReason = (reason: string): string => reason.split(' (')[0]?.replace(/^the \S+ backend /, '') ?? reason

/**
 * `describeChoice` as lines for a terminal: the backend's description and the request, then one
 * line per backend passed over, so that each stays near 80 columns instead of one long line.
 */
export const choiceLines = (choice: AcceleratorChoice): readonly string[] => [
  `${choice.description}, ${requestOf(choice)}`,
  ...choice.skipped.map((s) => `not ${s.backend}: ${shortReason(s.reason)}`),
]
