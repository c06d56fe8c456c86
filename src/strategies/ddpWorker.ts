/**
 * A data-parallel worker thread: it holds its own tfjs engine and backend, imports the module,
 * and for each step computes the gradients of its shard of the global batch with the variables
 * in shared memory. Rank 1 also applies the update: it sums every rank's gradients, runs the
 * optimizer and writes the new training state back, while the main thread pulls the next batch.
 * The other ranks write their gradients into their slots of the shared gradient buffer.
 */
import { parentPort } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../backends/backend.js'
import { float32Precision, type Precision, resolvePrecision } from '../backends/precision.js'
import { isRxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { GradientTransform } from '../optim/transform.js'
import { effectiveOptimizer } from '../pipeline/effectiveOptimizer.js'
import type { TrainState } from '../pipeline/events.js'
import type { Module } from '../pipeline/module.js'
import { readBack } from '../pipeline/readBack.js'
import { computeGradients } from '../pipeline/step.js'
import { accumulateOrStep } from '../pipeline/trainOnBatch.js'
import { keyFromWords } from '../random/key.js'
import { disposeTree, flattenParams, type Params, releaseGeneration, type StateTree, unflattenParams } from '../tree/tree.js'
import { batchFromData } from './batchShards.js'
import type { FromWorker, ReadLogData, SharedLayout, SharedLeaf, ToWorker, UpdateOrder, UpdateReport } from './protocol.js'
import { tensorFromShared, writeToShared } from './sharedTensor.js'
import { fromTemplate, toTemplate } from './treeTemplate.js'

const port = parentPort
if (port === null) throw new Error('ddpWorker runs in a worker thread')

let backend: Backend
let module: Module<Params, Params, unknown>
let optimizer: GradientTransform<StateTree> | undefined
let precision: Precision = float32Precision
let layout: SharedLayout
let variables: Float32Array
let gradients: Float32Array
let control: Int32Array
let abortIndex = 0
let rank = 0
let version = -1
let stateVersion = -1
/** The training state this rank holds: its parameters and module state; rank 1 also the optimizer's. */
let held: TrainState | undefined

const send = (m: FromWorker): void => port.postMessage(m)

const fail = (e: unknown): void =>
  send(
    isRxtrainError(e)
      ? { type: 'failed', message: e.message, tag: e.tag, problem: e.problem, remedy: e.remedy }
      : { type: 'failed', message: e instanceof Error ? e.message : String(e) },
  )

const leavesOf = (group: SharedLeaf['group']): SharedLeaf[] => layout.leaves.filter((l) => l.group === group)

/** A tree shaped like `template` (parameters or module state) from the shared leaves of `group`. */
const fromShared = (group: 'params' | 'state', template: Params | undefined, base = 0): Params => {
  const tensors = leavesOf(group).map((l) => tensorFromShared(backend.name, variables, base + l.offset, l.size, l.shape))
  if (template !== undefined) return unflattenParams(template, tensors)
  // First build: the tree from the leaves' paths.
  const root: Record<string, unknown> = {}
  leavesOf(group).forEach((leaf, i) => {
    const parts = leaf.path.split('/')
    let node = root
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>
    node[parts.at(-1) as string] = tensors[i]
  })
  return root as Params
}

/**
 * The state this step runs with: rebuilt from shared memory where the main thread (or, for the
 * other ranks, rank 1's update) changed it since this rank last looked.
 */
const currentState = (m: Extract<ToWorker, { type: 'step' }>): TrainState => {
  let state = held
  if (state === undefined || m.version !== version) {
    const params = fromShared('params', state?.params)
    const rebuild = m.update?.rebuild
    const opt =
      rebuild === undefined
        ? { optState: null, gradAccumulator: null }
        : {
            optState: fromTemplate(
              rebuild.optTemplate,
              leavesOf('opt').map((l) => tensorFromShared(backend.name, variables, l.offset, l.size, l.shape)),
            ) as StateTree,
            gradAccumulator: rebuild.accumulating ? fromShared('params', params, layout.accumulatorOffset) : null,
          }
    if (m.update !== undefined && rebuild === undefined) throw new Error('rank 1 was not sent the state it must rebuild')
    const next: TrainState = { params, state: state?.state ?? {}, ...opt }
    if (state !== undefined) releaseGeneration({ ...state, state: undefined }, next)
    state = next
    version = m.version
  }
  if (m.stateVersion !== stateVersion) {
    const moduleState = fromShared('state', stateVersion < 0 ? undefined : state.state)
    if (stateVersion >= 0) disposeTree(state.state)
    state = { ...state, state: moduleState }
    stateVersion = m.stateVersion
  }
  held = state
  return state
}

/** Waits until `r` has written this step's gradients (a failure elsewhere raises the abort flag). */
const gradientsOf = (r: number, seq: number): void => {
  for (;;) {
    const seen = Atomics.load(control, r)
    if (seen === seq) return
    if (Atomics.load(control, abortIndex) !== 0) throw rxtrainError('StepError', 'another rank failed', 'see the error of the rank that failed.')
    Atomics.wait(control, r, seen, 100)
  }
}

/**
 * Rank 1's share of a step: the global gradient (the ranks' weighted gradients summed in rank
 * order), then the optimizer step or one more addition to the accumulator, written back to the
 * shared buffer for the main thread and the next step's ranks.
 */
const update = (order: UpdateOrder, own: Params | undefined, seq: number): UpdateReport => {
  const before = held as TrainState
  const opt = optimizer as GradientTransform<StateTree>
  const paramLeaves = leavesOf('params')
  const ownLeaves = own === undefined ? [] : flattenParams(own).map((l) => l.tensor)
  for (const r of order.ranks) if (r !== rank) gradientsOf(r, seq)
  let gradsFinite = true
  const next = backend.scoped(() => {
    const summed = paramLeaves.map((spec, i) => {
      let acc: tf.Tensor | undefined
      for (const r of order.ranks) {
        const g = r === rank ? (ownLeaves[i] as tf.Tensor) : tensorFromShared(backend.name, gradients, r * layout.paramWords + spec.offset, spec.size, spec.shape)
        acc = acc === undefined ? g : tf.add(acc, g)
      }
      return acc === ownLeaves[i] ? tf.clone(acc as tf.Tensor) : (acc as tf.Tensor)
    })
    const stepped = accumulateOrStep(opt, precision, before, before.state, unflattenParams(before.params, summed), order.stepping)
    gradsFinite = stepped.gradsFinite
    return stepped.next
  })
  try {
    const { template, tensors } = toTemplate(next.optState)
    const optLeaves = leavesOf('opt')
    if (tensors.length !== optLeaves.length || tensors.some((t, i) => t.size !== optLeaves[i]?.size || t.dtype !== 'float32'))
      throw rxtrainError(
        'ConfigError',
        'the optimizer state changed its tensors during data-parallel training',
        'data-parallel training keeps the optimizer state in shared memory, so its tensors must keep their number, sizes and float32 dtype; use such an optimizer, or train on one device.',
      )
    if (order.stepping) {
      flattenParams(next.params).forEach((l, i) => writeToShared(backend.name, l.tensor, variables, (paramLeaves[i] as SharedLeaf).offset))
      tensors.forEach((t, i) => writeToShared(backend.name, t, variables, (optLeaves[i] as SharedLeaf).offset))
    }
    const accumulator = next.gradAccumulator ?? null
    if (accumulator !== null)
      flattenParams(accumulator).forEach((l, i) => writeToShared(backend.name, l.tensor, variables, layout.accumulatorOffset + (paramLeaves[i] as SharedLeaf).offset))
    releaseGeneration(before, next)
    held = next
    version = order.nextVersion
    return { gradsFinite, optTemplate: template, accumulating: accumulator !== null }
  } catch (e) {
    releaseGeneration(next, before)
    throw e
  }
}

const step = (m: Extract<ToWorker, { type: 'step' }>): FromWorker => {
  const current = currentState(m)
  const model = { params: current.params, state: current.state }
  let own: { grads: Params; state: Params } | undefined
  let shard: { loss: number; logs: ReadLogData[] } | undefined
  try {
    if (m.batch !== undefined) {
      const batch = batchFromData(m.batch, backend.name)
      try {
        const ctx = { ...m.ctx, key: keyFromWords(m.ctx.key), ...(precision.computeFormat !== undefined && { castCompute: precision.castCompute }) }
        const g = backend.scoped(() => computeGradients(module, model, batch, ctx, { lossDivisor: m.lossDivisor, precision, lossScale: m.lossScale }))
        own = { grads: g.grads, state: g.state }
        if (m.update === undefined) {
          // Another rank sums: the gradients go to this rank's slot, and the slot is marked.
          const slot = rank * layout.paramWords
          flattenParams(g.grads).forEach((leaf, i) => writeToShared(backend.name, leaf.tensor, gradients, slot + (leavesOf('params')[i] as SharedLeaf).offset))
          Atomics.store(control, rank, m.seq)
          Atomics.notify(control, rank)
        }
        const size = m.batch.tensors[0]?.shape[0] ?? 1
        const read = readBack(backend, { logs: g.logs, defaults: { onStep: true, onEpoch: false }, batchSize: size, extra: [g.loss], keep: [current, batch, g.grads, g.state] })
        shard = { loss: read.extra[0] as number, logs: read.logs.map((l) => ({ ...l, pending: { ...l.pending, source: 0 } })) }
      } finally {
        disposeTree(batch)
      }
    }
    const report = m.update === undefined ? undefined : update(m.update, own?.grads, m.seq)
    return { type: 'done', ...(shard !== undefined && { loss: shard.loss }), logs: shard?.logs ?? [], ...(report !== undefined && { update: report }) }
  } finally {
    if (own !== undefined) {
      disposeTree(own.grads)
      if (own.state !== current.state) releaseGeneration(own.state, current.state)
    }
  }
}

port.on('message', async (m: ToWorker) => {
  try {
    if (m.type === 'init') {
      rank = m.rank
      layout = m.layout
      variables = new Float32Array(m.variables)
      gradients = new Float32Array(m.gradients)
      control = new Int32Array(m.control)
      abortIndex = m.devices
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
      if (rank === 1) optimizer = effectiveOptimizer(module.optimizer, m.clip, m.plan)
      send({ type: 'ready' })
      return
    }
    send(step(m))
  } catch (e) {
    fail(e)
  }
})
