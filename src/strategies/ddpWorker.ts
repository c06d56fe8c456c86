/**
 * A data-parallel worker thread: it holds its own tfjs engine and backend, imports the module,
 * and for each step computes the gradients of its shard of the global batch with the variables
 * the main thread shares, writing them into its slot of the shared gradient buffer. Its shard's
 * rows come from its own pass over the source (a source with a recipe), or cut by the main thread.
 */
import { parentPort } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { isObservable } from 'rxjs'
import type { BatchIterator, BatchSource } from '../data/source.js'
import { sourceFromRecipe } from '../data/sourceRecipe.js'
import { batchSizeOf } from '../pipeline/batches.js'
import type { Backend } from '../backends/backend.js'
import { float32Precision, type Precision, resolvePrecision } from '../backends/precision.js'
import type { Module } from '../pipeline/module.js'
import { readBack } from '../pipeline/readBack.js'
import { computeGradients, type TrainStep, trainStep } from '../pipeline/step.js'
import { weightLoss } from '../pipeline/stepTransformers.js'
import { keyFromWords } from '../random/key.js'
import { disposeTree, leafTensors, type Params, type StateTree } from '../tree/tree.js'
import type { GradientTransform } from '../optim/transform.js'
import { batchFromData } from './batchShards.js'
import type { FromWorker, SharedLayout, ToWorker } from './protocol.js'
import { tensorFromShared, writeToShared } from './sharedTensor.js'
import { failedMessage } from './workerContext.js'

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
let source: BatchSource<unknown> | undefined
/** The pass this rank loads its own rows from, and the batch it pulled ahead (by index in the pass). */
let pass: { readonly iterator: BatchIterator<unknown>; next: number; ahead?: { readonly idx: number; readonly batch: unknown } } | undefined

/** The next batch of this rank's pass, with its index. */
const pullOwn = (p: NonNullable<typeof pass>): { readonly idx: number; readonly batch: unknown } => {
  const r = p.iterator.next()
  if (isObservable(r)) throw new Error('a source with a recipe must answer pulls synchronously')
  if (r.done === true) throw new Error(`this rank's pass over the training data ended at batch ${p.next}, before the main thread's`)
  return { idx: p.next++, batch: r.value }
}

/** This rank's rows of batch `batchIdx` (batches it had no rows of are skipped, and released). */
const ownBatch = (batchIdx: number): unknown => {
  if (pass === undefined) throw new Error('a step without rows came before a pass was opened')
  for (;;) {
    const got = pass.ahead ?? pullOwn(pass)
    pass.ahead = undefined
    if (got.idx === batchIdx) return got.batch
    disposeTree(got.batch)
    if (got.idx > batchIdx) throw new Error(`batch ${batchIdx} was asked for after batch ${got.idx}`)
  }
}

const closePass = (): void => {
  if (pass?.ahead !== undefined) disposeTree(pass.ahead.batch)
  pass?.iterator.close()
  pass = undefined
}

const send = (m: FromWorker): void => port.postMessage(m)

const fail = (e: unknown): void => send(failedMessage(e))

/** The optimizer of a worker's step: the main thread applies the update, so it is never called here. */
const updatesInTheMainThread: GradientTransform<StateTree> = {
  init: () => null,
  update: () => {
    throw new Error('a data-parallel worker computes gradients only')
  },
}
let step: TrainStep<Params, Params, unknown> | undefined
/** The run's training step (its gradient half runs here), for the run's accumulation count. */
const stepFor = (k: number): TrainStep<Params, Params, unknown> => {
  if (step?.accumulateGradBatches !== k) step = trainStep(module, updatesInTheMainThread, { precision, accumulateGradBatches: k })
  return step
}

/** The variables as tensors, rebuilt from the shared buffer when the main thread changed them. */
const currentModel = (v: number): { params: Params; state: Params } => {
  if (model !== undefined && v === version) return model
  if (model !== undefined) tf.dispose([...leafTensors(model.params), ...leafTensors(model.state)])
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
      const { startBackend } = await import('../backends/accelerator.js')
      const ready = await startBackend(m.backend)()
      if (E.isLeft(ready)) throw ready.left
      backend = ready.right
      precision = resolvePrecision(m.precision, undefined, backend)
      step = undefined
      const imported = (await import(m.moduleUrl)) as Record<string, unknown>
      const found = imported[m.exportName]
      if (typeof found !== 'object' || found === null || typeof (found as { trainingStep?: unknown }).trainingStep !== 'function')
        throw new Error(`${m.moduleUrl} does not export a module named '${m.exportName}'`)
      module = found as Module<Params, Params, unknown>
      send({ type: 'ready' })
      return
    }
    if (m.type === 'open') {
      closePass()
      if (m.recipe !== undefined) source = sourceFromRecipe(m.recipe)
      if (source === undefined) throw new Error('a pass was opened before its source was given')
      const { key, ...order } = m.order
      pass = { iterator: source.open({ ...order, key: keyFromWords(key), shard: m.shard }), next: m.order.skipBatches ?? 0 }
      return
    }
    const current = currentModel(m.version)
    const batch = m.batch === undefined ? ownBatch(m.ctx.batchIdx) : batchFromData(m.batch, backend.name)
    const size = batchSizeOf(batch)
    if (size !== m.size) {
      disposeTree(batch)
      throw new Error(`this rank's rows of batch ${m.ctx.batchIdx} are ${size}, where the main thread expects ${m.size}`)
    }
    // The step adds the precision's compute cast to the context itself.
    const ctx = { ...m.ctx, key: keyFromWords(m.ctx.key), lossScale: m.lossScale }
    try {
      const g = backend.scoped(() => computeGradients(weightLoss(m.lossWeight)(stepFor(m.accumulateGradBatches)), current, batch, ctx))
      const slot = (rank - 1) * layout.paramWords
      for (const [i, leaf] of leafTensors(g.grads).entries()) {
        const spec = layout.leaves[i]
        if (spec === undefined) throw new Error('the gradients do not match the shared layout')
        writeToShared(backend.name, leaf, gradients, slot + spec.offset)
      }
      const read = readBack(backend, { logs: g.logs, defaults: { onStep: true, onEpoch: false }, batchSize: size, extra: [g.loss], keep: [current, batch] })
      tf.dispose([...leafTensors(g.grads)])
      if (g.state !== current.state) tf.dispose([...leafTensors(g.state)])
      send({
        type: 'done',
        loss: read.extra[0] as number,
        logs: read.logs.map((l) => ({ ...l, pending: { ...l.pending, source: 0 } })),
      })
    } finally {
      disposeTree(batch)
    }
    // This rank's next rows, loaded while the main thread finishes the step.
    if (m.batch === undefined && pass !== undefined && pass.ahead === undefined && (source?.numBatches === undefined || pass.next < source.numBatches)) pass.ahead = pullOwn(pass)
  } catch (e) {
    fail(e)
  }
})
