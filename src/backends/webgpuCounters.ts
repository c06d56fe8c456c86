import * as tf from '@tensorflow/tfjs-core'

/**
 * What tfjs-backend-webgpu 4.22's backend object does that costs a GPU round: every program it
 * runs goes through `recordAndSubmit` (one compute dispatch), every awaited read through
 * `getBufferData` (a copy to a staging buffer, a submit and a `mapAsync`), and every tensor made
 * from host values is copied to the device in `uploadToGPU`.
 */
interface WebGpuInternals {
  recordAndSubmit(program: { readonly constructor: { readonly name: string }; readonly op?: unknown }, ...rest: unknown[]): unknown
  getBufferData(buffer: unknown): Promise<unknown>
  uploadToGPU(dataId: object): void
  readonly tensorMap: { get(dataId: object): { readonly values?: unknown; readonly resource?: unknown } | undefined }
}

/** The counts between a counter's start and its stop. */
export interface WebGpuCounts {
  /** Compute dispatches (programs run). */
  readonly dispatches: number
  /** Awaited reads of device buffers to the host. */
  readonly reads: number
  /** Host values copied to the device (tensors made from host data, e.g. a `tf.scalar`). */
  readonly uploads: number
  /** Dispatches per program (the tfjs program class, with its op where it has one). */
  readonly programs: Readonly<Record<string, number>>
}

/** A running count; `stop` ends it and returns what it saw. */
export interface WebGpuCounter {
  /** The counts so far (the counter keeps running). */
  counts(): WebGpuCounts
  /** Ends the count (restoring the backend's methods when no other counter runs) and returns it. */
  stop(): WebGpuCounts
}

interface Tally {
  dispatches: number
  reads: number
  uploads: number
  readonly programs: Record<string, number>
}

// The counters running on each backend object, and how to restore its methods.
const running = new WeakMap<object, { readonly tallies: Set<Tally>; readonly restore: () => void }>()

const programName = (program: { readonly constructor: { readonly name: string }; readonly op?: unknown }): string =>
  program.op === undefined ? program.constructor.name : `${program.constructor.name}:${String(program.op)}`

const isWebGpu = (b: unknown): b is WebGpuInternals =>
  typeof b === 'object' && b !== null && ['recordAndSubmit', 'getBufferData', 'uploadToGPU'].every((m) => typeof (b as Record<string, unknown>)[m] === 'function')

/** Wraps the three methods on the backend object itself (its own properties shadow the prototype's). */
const instrument = (b: WebGpuInternals, tallies: Set<Tally>): (() => void) => {
  const own = b as unknown as Record<string, unknown>
  const { recordAndSubmit, getBufferData, uploadToGPU } = b
  own.recordAndSubmit = function (this: WebGpuInternals, program: Parameters<WebGpuInternals['recordAndSubmit']>[0], ...rest: unknown[]) {
    const name = programName(program)
    for (const t of tallies) {
      t.dispatches++
      t.programs[name] = (t.programs[name] ?? 0) + 1
    }
    return recordAndSubmit.call(this, program, ...rest)
  }
  own.getBufferData = function (this: WebGpuInternals, buffer: unknown) {
    for (const t of tallies) t.reads++
    return getBufferData.call(this, buffer)
  }
  own.uploadToGPU = function (this: WebGpuInternals, dataId: object) {
    const data = this.tensorMap.get(dataId)
    if (data !== undefined && data.resource == null && data.values != null) for (const t of tallies) t.uploads++
    uploadToGPU.call(this, dataId)
  }
  return () => {
    for (const m of ['recordAndSubmit', 'getBufferData', 'uploadToGPU']) delete own[m]
  }
}

const snapshot = (t: Tally): WebGpuCounts => ({ dispatches: t.dispatches, reads: t.reads, uploads: t.uploads, programs: { ...t.programs } })

/**
 * Starts counting what the tfjs webgpu backend object does: compute dispatches, awaited reads and
 * uploads, until `stop()`. For tests and benchmarks that hold a step to a dispatch budget (counts,
 * not times, so they hold on a software adapter too). Counters may overlap; each sees what ran
 * while it was running. Throws where the backend object is not tfjs's webgpu one.
 *
 * @example
 * const counter = countWebGpu()
 * const out = step(state, batch, ctx)
 * const { dispatches, reads } = counter.stop()
 */
export const countWebGpu = (backend: unknown = tf.engine().findBackend('webgpu')): WebGpuCounter => {
  if (!isWebGpu(backend)) throw new Error('countWebGpu needs the tfjs webgpu backend object (start the webgpu backend first)')
  let entry = running.get(backend)
  if (entry === undefined) {
    const tallies = new Set<Tally>()
    entry = { tallies, restore: instrument(backend, tallies) }
    running.set(backend, entry)
  }
  const tally: Tally = { dispatches: 0, reads: 0, uploads: 0, programs: {} }
  entry.tallies.add(tally)
  const active = entry
  let stopped: WebGpuCounts | undefined
  return {
    counts: () => stopped ?? snapshot(tally),
    stop: () => {
      if (stopped !== undefined) return stopped
      stopped = snapshot(tally)
      active.tallies.delete(tally)
      if (active.tallies.size === 0) {
        active.restore()
        running.delete(backend)
      }
      return stopped
    },
  }
}
