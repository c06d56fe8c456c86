import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads'

/** One column as the rows worker reads it: values in shared memory, and how a row is cut and scaled. */
export interface SharedColumn {
  readonly name: string
  readonly data: ArrayLike<number>
  readonly size: number
  readonly scale: number
  readonly int32: boolean
}

/** A batch's column arrays, by column name. */
export type BatchArrays = Readonly<Record<string, Float32Array | Int32Array>>

/**
 * A thread that builds the batches of one pass ahead of the training thread (Lightning's
 * `num_workers`): the same rows, the same arithmetic (the gatherer it is given), in another core.
 */
export interface RowsWorker {
  /** Batch `b`'s arrays if the worker has built them (never waits), else undefined: build it yourself. */
  take(b: number): BatchArrays | undefined
  /** Says batch `b` is taken (by either thread), so the worker moves on to the ones after it. */
  taken(b: number): void
  close(): void
}

/**
 * The gatherer the worker runs: `gather(out, data, indices, from, to, size, scale)` writes the rows
 * `indices[from..to)` of a column into `out`. It must name nothing outside itself: the worker runs
 * its source text.
 */
export type RowGatherer = (out: Float32Array | Int32Array, data: never, indices: Int32Array, from: number, to: number, size: number, scale: number) => void

// The worker's program: plain JavaScript with the gatherer's own source text, so that it starts in
// tens of milliseconds (no TypeScript loader, no imports of rxtrain) and computes the same values.
// control[0]: the next batch the training thread will take; control[1]: 1 to stop.
const programOf = (gather: RowGatherer): string => `
const { workerData } = require('node:worker_threads')
const gatherRowsInto = ${gather.toString()}
const { port, columns, indices, batches, first, control, depth } = workerData
const count = batches.length / 2
let b = first
while (b < count && Atomics.load(control, 1) === 0) {
  const next = Atomics.load(control, 0)
  if (b < next) { b = next; continue }
  if (b >= next + depth) { Atomics.wait(control, 0, next, 1000); continue }
  const from = batches[2 * b], to = batches[2 * b + 1]
  const arrays = {}
  const transfer = []
  for (const c of columns) {
    const out = c.int32 ? new Int32Array((to - from) * c.size) : new Float32Array((to - from) * c.size)
    gatherRowsInto(out, c.data, indices, from, to, c.size, c.scale)
    arrays[c.name] = out
    transfer.push(out.buffer)
  }
  port.postMessage({ b, arrays }, transfer)
  b++
}
port.close()
`

// Columns copied into shared memory once per underlying buffer, so each pass's worker reads them in place.
const shared = new WeakMap<ArrayBufferLike, SharedArrayBuffer>()

/** `data` as a view of shared memory: itself when it already is one, else a view of a shared copy of its whole buffer (made once). */
export const sharedView = <T extends Float32Array | Int32Array | Uint8Array | Uint8ClampedArray | Int8Array | Int16Array | Uint16Array>(data: T): T => {
  if (data.buffer instanceof SharedArrayBuffer) return data
  let copy = shared.get(data.buffer)
  if (copy === undefined) {
    copy = new SharedArrayBuffer(data.buffer.byteLength)
    new Uint8Array(copy).set(new Uint8Array(data.buffer))
    shared.set(data.buffer, copy)
  }
  const View = data.constructor as new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => T
  return new View(copy, data.byteOffset, data.length)
}

/**
 * Starts a worker thread that builds, with `gather`, batches `first`, `first + 1`, ... of a pass (batch b is the
 * rows `indices[batches[2b] .. batches[2b + 1])` of every column), at most `depth` ahead of the
 * batch the training thread takes next. Batches arrive as transferred arrays (no copy). Returns
 * undefined where no worker thread can start; a worker that fails leaves the training thread to
 * build every batch itself, with the same values.
 */
export const startRowsWorker = (gather: RowGatherer, columns: readonly SharedColumn[], indices: Int32Array, batches: Int32Array, first: number, depth: number): RowsWorker | undefined => {
  const control = new Int32Array(new SharedArrayBuffer(8))
  control[0] = first
  let channel: { port1: MessagePort; port2: MessagePort }
  let worker: Worker
  try {
    channel = new MessageChannel()
    worker = new Worker(programOf(gather), {
      eval: true,
      workerData: { port: channel.port2, columns, indices, batches, first, control, depth },
      transferList: [channel.port2],
    })
  } catch {
    return undefined
  }
  // Neither keeps the process alive, and a failing worker only means the training thread builds.
  worker.unref()
  channel.port1.unref()
  // A failed or closed worker hands out nothing more: the training thread builds every batch.
  let failed = false
  worker.on('error', () => {
    failed = true
  })
  const ahead = new Map<number, BatchArrays>()
  const stop = () => {
    Atomics.store(control, 1, 1)
    Atomics.notify(control, 0)
  }
  return {
    take: (b) => {
      const early = ahead.get(b)
      if (early !== undefined) {
        ahead.delete(b)
        return early
      }
      if (failed) return undefined
      for (let m = receiveMessageOnPort(channel.port1); m !== undefined; m = receiveMessageOnPort(channel.port1)) {
        const message = m.message as { readonly b: number; readonly arrays: BatchArrays }
        if (message.b === b) return message.arrays
        if (message.b > b) ahead.set(message.b, message.arrays)
      }
      return undefined
    },
    taken: (b) => {
      for (const k of ahead.keys()) if (k <= b) ahead.delete(k)
      Atomics.store(control, 0, b + 1)
      Atomics.notify(control, 0)
    },
    close: () => {
      failed = true
      stop()
      ahead.clear()
      channel.port1.close()
      void worker.terminate()
    },
  }
}
