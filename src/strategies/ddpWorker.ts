/**
 * A data-parallel worker thread: it holds its own tfjs engine and backend, imports the module,
 * and for each step computes the gradients of its shard of the global batch with the variables
 * the main thread shares, writing them into its slot of the shared gradient buffer.
 */
import { parentPort } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../backends/backend.js'
import { float32Precision, type Precision, resolvePrecision } from '../backends/precision.js'
import { isRxtrainError } from '../errors/rxtrainError.js'
import type { Module } from '../pipeline/module.js'
import { readBack } from '../pipeline/readBack.js'
import { computeGradients } from '../pipeline/step.js'
import { keyFromWords } from '../random/key.js'
import { disposeTree, flattenParams, type Params } from '../tree/tree.js'
import { batchFromData } from './batchShards.js'
import type { FromWorker, SharedLayout, ToWorker } from './protocol.js'
import { tensorFromShared, writeToShared } from './sharedTensor.js'

const port = parentPort
if (port === null) throw new Error('ddpWorker runs in a worker thread')

let backend: Backend
let module: Module<Params, Params, unknown>
let precision: Precision = float32Precision
let layout: SharedLayout
let variables: Float32Array
let gradients: Float32Array
let rank = 0
let version = -1
let model: { params: Params; state: Params } | undefined

const send = (m: FromWorker): void => port.postMessage(m)

const fail = (e: unknown): void =>
  send(
    isRxtrainError(e)
      ? { type: 'failed', message: e.message, tag: e.tag, problem: e.problem, remedy: e.remedy }
      : { type: 'failed', message: e instanceof Error ? e.message : String(e) },
  )

/** The variables as tensors, rebuilt from the shared buffer when the main thread changed them. */
const currentModel = (v: number): { params: Params; state: Params } => {
  if (model !== undefined && v === version) return model
  if (model !== undefined) tf.dispose([...flattenParams(model.params), ...flattenParams(model.state)].map((l) => l.tensor))
  const groups: Record<'params' | 'state', Record<string, unknown>> = { params: {}, state: {} }
  for (const leaf of layout.leaves) {
    const parts = leaf.path.split('/')
    let node = groups[leaf.group]
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>
    node[parts.at(-1) as string] = tensorFromShared(backend.name, variables, leaf.offset, leaf.size, leaf.shape)
  }
  model = { params: groups.params as Params, state: groups.state as Params }
  version = v
  return model
}

port.on('message', async (m: ToWorker) => {
  try {
    if (m.type === 'init') {
      rank = m.rank
      layout = m.layout
      variables = new Float32Array(m.variables)
      gradients = new Float32Array(m.gradients)
      const { resolveAccelerator } = await import('../backends/accelerator.js')
      const ready = await resolveAccelerator(m.backend)()
      if (E.isLeft(ready)) throw ready.left
      backend = ready.right
      precision = resolvePrecision(m.precision)
      const imported = (await import(m.moduleUrl)) as Record<string, unknown>
      const found = imported[m.exportName]
      if (typeof found !== 'object' || found === null || typeof (found as { trainingStep?: unknown }).trainingStep !== 'function')
        throw new Error(`${m.moduleUrl} does not export a module named '${m.exportName}'`)
      module = found as Module<Params, Params, unknown>
      send({ type: 'ready' })
      return
    }
    const current = currentModel(m.version)
    const batch = batchFromData(m.batch, backend.name)
    const ctx = { ...m.ctx, key: keyFromWords(m.ctx.key), ...(precision.computeFormat !== undefined && { castCompute: precision.castCompute }) }
    try {
      const g = backend.scoped(() => computeGradients(module, current, batch, ctx, { lossDivisor: m.lossDivisor, precision, lossScale: m.lossScale }))
      const slot = (rank - 1) * layout.paramWords
      for (const [i, leaf] of flattenParams(g.grads).entries()) {
        const spec = layout.leaves[i]
        if (spec === undefined) throw new Error('the gradients do not match the shared layout')
        writeToShared(backend.name, leaf.tensor, gradients, slot + spec.offset)
      }
      const size = m.batch.tensors[0]?.shape[0] ?? 1
      const read = readBack(backend, { logs: g.logs, defaults: { onStep: true, onEpoch: false }, batchSize: size, extra: [g.loss], keep: [current, batch] })
      tf.dispose(flattenParams(g.grads).map((l) => l.tensor))
      if (g.state !== current.state) tf.dispose(flattenParams(g.state).map((l) => l.tensor))
      send({
        type: 'done',
        loss: read.extra[0] as number,
        logs: read.logs.map((l) => ({ ...l, pending: { ...l.pending, source: 0 } })),
      })
    } finally {
      disposeTree(batch)
    }
  } catch (e) {
    fail(e)
  }
})
