import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { disposeTree, releaseGeneration } from '../tree/tree.js'
import type { AcceleratorChoice } from './acceleratorChoice.js'
import { castHalf, deviceRoundingOf, type HalfRounding } from './castHalf.js'
import { type FiniteCheck, finiteCheck } from './finite.js'
import type { FusedAdam, FusedAdamStep } from './fusedAdam.js'
import { tidy } from './tidy.js'

export type { BackendName } from './backendName.js'
import type { BackendName } from './backendName.js'
/** Where a backend computes. */
export type DeviceKind = 'cpu' | 'gpu'

/** What the engine holds: live tensors and their bytes (`tf.memory()`). */
export interface MemoryInfo {
  readonly numTensors: number
  readonly numBytes: number
}

/**
 * The fused optimizer kernels a backend offers; an optimizer runs op by op (with the same
 * numbers) where one is absent. The loop hands them to the optimizer with its backend record (an
 * `UpdateContext`).
 */
export interface OptimizerKernels {
  /** Adam's moments and update for one leaf in one pass (wasm with SIMD, cpu, webgpu). */
  readonly adam?: FusedAdam
  /** Adam with its learning rate and the parameter's update in one pass per leaf (`optim.adam`'s `fusedStep`: wasm with SIMD, cpu). */
  readonly adamStep?: FusedAdamStep
}

/**
 * The capability through which the loop touches the tensor engine. tfjs has one global engine
 * per process; a `Backend` value is proof that its engine backend initialised, and `activate`
 * makes it the current one. Everything else here is generic engine work, kept behind the record
 * so that tests and later backends (webgpu, tensorflow) can change it in one place.
 *
 * @example
 * const started = await startBackend('cpu')()
 * if (E.isLeft(started)) throw started.left
 * const cpu: Backend = started.right
 * console.log(cpu.description, cpu.memory().numTensors)
 * fit(module, { train, val }, { maxEpochs: 1 }, { backend: cpu }).subscribe()
 */
export interface Backend {
  readonly name: BackendName
  readonly deviceKind: DeviceKind
  /** A human description, e.g. `wasm (XNNPACK, SIMD, 1 thread)`. */
  readonly description: string
  /** Makes this backend the engine's current one (synchronous once initialised). */
  activate(): void
  /** Runs `f` in an allocation scope: tensors it creates and does not return are released. */
  scoped<T>(f: () => T): T
  /**
   * Whether values can be read back synchronously (`dataSync`): true for cpu, wasm and
   * tensorflow; false for webgpu in Node, whose buffers can only be mapped asynchronously.
   * The loop reads with `readScalarsAsync` where it is false. The only source of this fact.
   */
  readonly hostReads: boolean
  /** How to tell whether every gradient is finite: on the device always, on the host where `hostReads`. */
  readonly finite: FiniteCheck
  /** The fused optimizer kernels this backend offers (none on tensorflow). */
  readonly kernels: OptimizerKernels
  /**
   * Rounding to a half format for the half-precision policies (`resolvePrecision(name, scaler,
   * backend)`): on the host where `hostReads`, else on the device with the `RxtrainRoundHalf`
   * kernel (webgpu); absent where neither is possible.
   */
  readonly roundHalf?: HalfRounding
  /** Reads scalar tensors back to the host in one transfer, in order (needs `hostReads`); a larger tensor gives all its values, flattened. */
  readScalars(scalars: readonly tf.Tensor[]): number[]
  /** Reads scalar tensors back to the host in one transfer, in order, on any backend. */
  readScalarsAsync(scalars: readonly tf.Tensor[]): Promise<number[]>
  /** Reads one tensor's values back to the host. */
  read(t: tf.Tensor): Promise<tf.TypedArray>
  /** Disposes the tensors of `previous` that `next` does not hold (a state generation). */
  release(previous: unknown, next: unknown): void
  /** Disposes every tensor inside `value`. */
  dispose(value: unknown): void
  memory(): MemoryInfo
  /** How the run's accelerator option arrived at this backend (set by `startBackend`). */
  readonly choice?: AcceleratorChoice
}

/**
 * Scalars (of any dtype) as one float32 vector, to read them back in one transfer; a tensor of
 * several values (a metric state's statistics) adds all of them, flattened, in order.
 */
const packScalars = (scalars: readonly tf.Tensor[]): tf.Tensor => tf.tidy(() => tf.concat(scalars.map((s) => tf.cast(tf.reshape(s, [-1]), 'float32'))))

/** What distinguishes one tfjs engine backend's record from another's besides its name. */
export interface EngineBackendOptions {
  /** Whether it reads synchronously (default true). */
  readonly hostReads?: boolean
  /** The fused optimizer kernels it offers (default none). */
  readonly kernels?: OptimizerKernels
}

/** How a backend rounds to a half format: on the host where it reads synchronously, else with the device kernel if it has one. */
const roundingFor = (name: BackendName, hostReads: boolean): { readonly roundHalf?: HalfRounding } => {
  const roundHalf = hostReads ? castHalf : deviceRoundingOf(name)
  return roundHalf === undefined ? {} : { roundHalf }
}

/** The engine operations every tfjs backend shares; `name` is the tfjs engine's name for it. */
export const engineBackend = (name: BackendName, deviceKind: DeviceKind, description: string, options: EngineBackendOptions = {}): Backend => {
  const { hostReads = true, kernels = {} } = options
  return {
    name,
    deviceKind,
    description,
    hostReads,
    finite: finiteCheck(hostReads),
    kernels,
    ...roundingFor(name, hostReads),
    activate: () => {
      if (tf.getBackend() !== name) {
        // Safe to ignore the promise: an initialised backend switches synchronously.
        void tf.setBackend(name)
        if (tf.getBackend() !== name) throw new Error(`backend ${name} is not initialised`)
      }
    },
    scoped: tidy,
    readScalars: (scalars) => {
      if (scalars.length === 0) return []
      // On a CPU device the values are already in host memory: read each one directly. On a GPU,
      // pack them into one tensor so that there is a single transfer.
      if (deviceKind === 'cpu' && hostReads) return scalars.flatMap((s) => (s.size === 1 ? [s.dataSync()[0] as number] : Array.from(s.dataSync())))
      const packed = packScalars(scalars)
      const values = packed.dataSync()
      packed.dispose()
      return Array.from(values)
    },
    readScalarsAsync: async (scalars) => {
      if (scalars.length === 0) return []
      const packed = packScalars(scalars)
      try {
        return Array.from(await packed.data())
      } finally {
        packed.dispose()
      }
    },
    read: (t) => t.data(),
    release: releaseGeneration,
    dispose: disposeTree,
    memory: () => {
      const m = tf.memory()
      return { numTensors: m.numTensors, numBytes: m.numBytes }
    },
  }
}

/**
 * `backend` as it would be without synchronous reads (webgpu in Node): no `readScalars`, no
 * host-side finiteness check, half-precision rounding by the device kernel (cpu has one, with the
 * same bits). For tests that run the loop's asynchronous path, and its device decisions, on cpu.
 */
export const withoutHostReads = (backend: Backend): Backend => {
  const { roundHalf: _, ...rest } = backend
  const roundHalf = deviceRoundingOf(backend.name)
  return {
    ...rest,
    ...(roundHalf !== undefined && { roundHalf }),
    hostReads: false,
    finite: { onDevice: backend.finite.onDevice },
    readScalars: () => {
      throw new Error(`no synchronous reads on this backend (${backend.name} without host reads)`)
    },
  }
}

/**
 * Throws a `ConfigError` when `backend` cannot read values synchronously, for operations that
 * must decide on the host in the middle of a step (`what` needs it).
 */
export const requireHostReads = (backend: Pick<Backend, 'name' | 'hostReads'>, what: string, remedy: string): void => {
  if (!backend.hostReads)
    throw rxtrainError('ConfigError', `${what} needs a synchronous read, which ${backend.name} in Node does not have`, remedy, { backend: backend.name })
}
