import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import { Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { Precision } from '../backends/precision.js'
import { type ErrorTag, RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { TrainState } from '../pipeline/events.js'
import type { Module } from '../pipeline/module.js'
import { readBack } from '../pipeline/readBack.js'
import { foldIn } from '../random/key.js'
import { computeGradients } from '../pipeline/step.js'
import { accumulateOrStep, nonFiniteLoss, type TrainedBatch, type TrainOnBatch } from '../pipeline/trainOnBatch.js'
import type { GradientTransform } from '../optim/transform.js'
import { flattenParams, type Params, type StateTree, unflattenParams } from '../tree/tree.js'
import type { ClipOptions } from '../pipeline/effectiveOptimizer.js'
import type { LoopPlan } from '../pipeline/plan.js'
import { fromTemplate, toTemplate } from './treeTemplate.js'
import { type Shards, type ShardSlots, shardBatch, shardSlots } from './batchShards.js'
import { mergeLogs } from './mergeLogs.js'
import { controlWords, type FromWorker, type SharedLayout, type SharedLeaf, type ToWorker, type UpdateReport } from './protocol.js'
import { tensorFromShared, writeToShared } from './sharedTensor.js'
import type { TrainStrategy } from './strategy.js'

/** Where workers find the module: a file URL and the name it is exported under. */
export interface ModuleSource {
  readonly url: string
  readonly exportName: string
}

export interface DdpOptions {
  readonly devices: number
  readonly module: Module<Params, Params, unknown>
  readonly source: ModuleSource
  readonly backend: Backend
  readonly precision: Precision
  readonly optimizer: GradientTransform<StateTree>
  /** What the updating worker needs to rebuild `optimizer` from the module's. */
  readonly clip: ClipOptions
  readonly plan: LoopPlan
}

const layoutOf = (state: TrainState): SharedLayout => {
  const leaves: SharedLeaf[] = []
  let offset = 0
  const groups = [
    ['params', flattenParams(state.params)],
    ['state', flattenParams(state.state)],
    ['opt', toTemplate(state.optState).tensors.map((tensor, i) => ({ path: `#${i}`, tensor }))],
  ] as const
  for (const [group, list] of groups)
    for (const l of list) {
      if (l.tensor.dtype !== 'float32')
        throw rxtrainError(
          'ConfigError',
          `data-parallel training shares float32 tensors; ${group === 'opt' ? 'optimizer state tensor' : group} ${l.path} is ${l.tensor.dtype}`,
          'keep model variables and optimizer state float32, or train on one device.',
        )
      leaves.push({ group, path: l.path, shape: l.tensor.shape, offset, size: l.tensor.size })
      offset += l.tensor.size
    }
  const paramWords = leaves.filter((l) => l.group === 'params').reduce((n, l) => n + l.size, 0)
  return { leaves, paramWords, accumulatorOffset: offset, totalWords: offset + paramWords }
}

/**
 * Starts a worker thread: the compiled worker next to this file, or, when rxtrain runs from its
 * TypeScript sources (development, tests), the source worker through tsx's loader, which a
 * worker thread has to register itself.
 */
const startWorker = (): Worker => {
  const self = import.meta.url
  if (!self.endsWith('.ts')) return new Worker(new URL('./ddpWorker.js', self))
  // tsx's ESM API (its package `exports` maps 'tsx/esm/api' to this file for `import`).
  const tsx = pathToFileURL(join(dirname(createRequire(self).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href
  const source = new URL('./ddpWorker.ts', self).href
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}) })`, { eval: true })
}

const workerError = (rank: number, m: { message: string; tag?: string; problem?: string; remedy?: string }): RxtrainError =>
  m.tag !== undefined && m.problem !== undefined && m.remedy !== undefined
    ? new RxtrainError(m.tag as ErrorTag, `in worker ${rank}: ${m.problem}`, m.remedy)
    : rxtrainError('StepError', `worker ${rank} failed: ${m.message}`, 'the error happened in a data-parallel worker thread; run with strategy: "single" to see it in the main thread.', { rank })

/**
 * Distributed data parallel on one machine (Lightning's `strategy: 'ddp'`): `devices` ranks, this
 * thread and `devices - 1` worker threads, each with its own tfjs engine. Every global batch is cut
 * into disjoint shards; each rank computes its shard's gradients with the same variables, weighted
 * by shard size. Rank 1 sums them through shared memory and applies the optimizer, writing the new
 * training state back, while this thread (rank 0, which also runs the loop, the data and the hooks)
 * pulls and cuts the next batch; so every rank trains the same model, and no rank waits for the
 * other's share of the serial work. Logged values are reduced across ranks before logging; hooks
 * (and so checkpoints) run once, in this thread.
 */
export const ddp = (o: DdpOptions): TrainStrategy => {
  const workers: Worker[] = []
  let layout: SharedLayout | undefined
  let variables: Float32Array | undefined
  let gradients: Float32Array | undefined
  let control: Int32Array | undefined
  // The shared state's versions, the version rank 1 holds, and the trees the shared buffer holds.
  let version = 0
  let stateVersion = 0
  let updaterVersion = -1
  let inShared: { params?: Params; optState?: StateTree; gradAccumulator?: Params | null; state?: Params } = {}
  let seq = 0
  let failure: RxtrainError | undefined
  const waiting = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: unknown) => void }>()
  // The shards of the batch pulled ahead (at most one), cut while the previous step was in flight.
  let prepared: { readonly batch: unknown; readonly shards: Shards } | undefined
  // Two sets of shared slots, used in turn: a batch is cut ahead while a worker may still be
  // copying the previous shard from the other set.
  const slotSets = [shardSlots(), shardSlots()]
  let cuts = 0
  const cut = (batch: unknown): Shards => shardBatch(batch, o.devices, slotSets[cuts++ % 2] as ShardSlots, o.backend.name)
  /** Takes the prepared shards out; those of another batch (or all, without one) are released. */
  const takePrepared = (batch?: unknown): Shards | undefined => {
    const early = prepared
    prepared = undefined
    if (early !== undefined && early.batch === batch) return early.shards
    if (early !== undefined) o.backend.dispose(early.shards.local)
    return undefined
  }
  /** The batch's shards: those cut ahead of time, else cut now. */
  const shardsOf = (batch: unknown): Shards => takePrepared(batch) ?? cut(batch)

  const leavesOf = (group: SharedLeaf['group']): SharedLeaf[] => (layout as SharedLayout).leaves.filter((l) => l.group === group)
  const write = (tensors: readonly tf.Tensor[], leaves: readonly SharedLeaf[], base = 0): void =>
    tensors.forEach((t, i) => writeToShared(o.backend.name, t, variables as Float32Array, base + (leaves[i] as SharedLeaf).offset))
  const read = (leaves: readonly SharedLeaf[], base = 0): tf.Tensor[] =>
    leaves.map((l) => tensorFromShared(o.backend.name, variables as Float32Array, base + l.offset, l.size, l.shape))

  /** Writes what of `state` the shared buffer does not hold yet (all of it at first). */
  const share = (state: TrainState): void => {
    if (layout === undefined) return
    const accumulator = state.gradAccumulator ?? null
    if (state.params !== inShared.params || state.optState !== inShared.optState || accumulator !== inShared.gradAccumulator) {
      write(flattenParams(state.params).map((l) => l.tensor), leavesOf('params'))
      const opt = toTemplate(state.optState).tensors
      if (opt.length !== leavesOf('opt').length)
        throw rxtrainError('ConfigError', 'the optimizer state changed its tensors during data-parallel training', 'use an optimizer whose state keeps its tensors, or train on one device.')
      write(opt, leavesOf('opt'))
      if (accumulator !== null) write(flattenParams(accumulator).map((l) => l.tensor), leavesOf('params'), layout.accumulatorOffset)
      inShared = { ...inShared, params: state.params, optState: state.optState, gradAccumulator: accumulator }
      version++
    }
    if (state.state !== inShared.state) {
      const leaves = leavesOf('state')
      if (leaves.length > 0 || inShared.state === undefined) {
        write(flattenParams(state.state).map((l) => l.tensor), leaves)
        stateVersion++
      }
      inShared = { ...inShared, state: state.state }
    }
  }

  const ask = (rank: number, message: ToWorker): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      if (failure !== undefined) return reject(failure)
      waiting.set(rank, { resolve, reject })
      workers[rank - 1]?.postMessage(message)
    })

  /** Wakes a worker waiting for gradients that will never come. */
  const abort = (): void => {
    if (control === undefined) return
    Atomics.store(control, o.devices, 1)
    for (let r = 0; r <= o.devices; r++) Atomics.notify(control, r)
  }

  const failAll = (e: RxtrainError): void => {
    failure ??= e
    abort()
    for (const w of waiting.values()) w.reject(failure)
    waiting.clear()
  }

  return {
    name: 'ddp',
    start: (state) =>
      new Observable<void>((subscriber) => {
        layout = layoutOf(state)
        const variablesBuffer = new SharedArrayBuffer(layout.totalWords * 4)
        const gradientsBuffer = new SharedArrayBuffer(o.devices * layout.paramWords * 4)
        const controlBuffer = new SharedArrayBuffer(controlWords(o.devices) * 4)
        variables = new Float32Array(variablesBuffer)
        gradients = new Float32Array(gradientsBuffer)
        control = new Int32Array(controlBuffer)
        for (let rank = 1; rank < o.devices; rank++) {
          const worker = startWorker()
          workers.push(worker)
          worker.on('message', (m: FromWorker) => {
            const w = waiting.get(rank)
            waiting.delete(rank)
            if (m.type === 'failed') {
              const e = workerError(rank, m)
              w?.reject(e)
              failAll(e)
            } else w?.resolve(m)
          })
          worker.on('error', (e) => failAll(rxtrainError('StepError', `worker ${rank} crashed: ${e.message}`, 'fix the error; it happened in a data-parallel worker thread.', { rank })))
          worker.on('exit', (code) => {
            if (code !== 0) failAll(rxtrainError('StepError', `worker ${rank} exited with code ${code}`, 'a data-parallel worker died; the run cannot go on without it.', { rank }))
          })
        }
        const init = (rank: number): ToWorker => ({
          type: 'init',
          rank,
          devices: o.devices,
          backend: o.backend.name,
          precision: o.precision.name,
          moduleUrl: o.source.url,
          exportName: o.source.exportName,
          layout: layout as SharedLayout,
          variables: variablesBuffer,
          gradients: gradientsBuffer,
          control: controlBuffer,
          clip: o.clip,
          plan: o.plan,
        })
        Promise.all(workers.map((_, i) => ask(i + 1, init(i + 1)))).then(
          () => {
            subscriber.next()
            subscriber.complete()
          },
          (e: unknown) => subscriber.error(e),
        )
      }),

    trainBatch: <P extends Params, S extends Params, B>(a: TrainOnBatch<P, S, B>): Observable<TrainedBatch<P, S>> =>
      new Observable<TrainedBatch<P, S>>((subscriber) => {
        const { backend, ctx } = a
        const before = a.state
        const L = layout as SharedLayout
        let pending: Promise<{ rank: number; m: FromWorker }>[] = []
        try {
          share(before)
          const step = ++seq
          const { local, remote, sizes } = shardsOf(a.batch)
          const total = sizes.reduce((x, y) => x + y, 0)
          // Each rank's loss is weighted by its share of the global batch before differentiation,
          // so the global gradient is the plain sum of the ranks' gradients.
          const divisor = (rank: number) => (a.plan.accumulateGradBatches * total) / (sizes[rank] ?? 1)
          // Random ops (dropout) draw independently in each rank: rank r > 0 folds r into the key.
          const ctxData = (rank: number) => {
            const k = foldIn(ctx.key, rank)
            // The precision's cast is a function: workers rebuild it from the policy's name.
            const { castCompute, ...plain } = ctx
            void castCompute
            return { ...plain, key: [k[0], k[1]] as const }
          }
          const contributing = sizes.flatMap((size, rank) => (size > 0 ? [rank] : []))
          const rebuild = updaterVersion === version ? undefined : { optTemplate: toTemplate(before.optState).template, accumulating: (before.gradAccumulator ?? null) !== null }
          pending = remote.flatMap((shard, i) => {
            const rank = i + 1
            const fed = (sizes[rank] ?? 0) > 0
            if (!fed && rank !== 1) return []
            const update = rank === 1 ? { update: { stepping: a.stepping, ranks: contributing, nextVersion: version + 1, ...(rebuild !== undefined && { rebuild }) } } : {}
            const message: ToWorker = { type: 'step', version, stateVersion, seq: step, batch: fed ? shard : undefined, ctx: ctxData(rank), lossDivisor: divisor(rank), lossScale: a.lossScale, ...update }
            return [ask(rank, message).then((m) => ({ rank, m }))]
          })
          // This thread's shard, computed while the workers compute theirs; its gradients go to
          // slot 0, for rank 1 to sum.
          let g0: ReturnType<typeof computeGradients<P, S, B>>
          try {
            g0 = backend.scoped(() => computeGradients(a.module, before, local as B, ctx, { lossDivisor: divisor(0), precision: a.precision, lossScale: a.lossScale }))
          } finally {
            backend.dispose(local)
          }
          let mine: ReturnType<typeof readBack>
          try {
            flattenParams(g0.grads).forEach((l, i) => writeToShared(backend.name, l.tensor, gradients as Float32Array, (leavesOf('params')[i] as SharedLeaf).offset))
            Atomics.store(control as Int32Array, 0, step)
            Atomics.notify(control as Int32Array, 0)
            mine = readBack(backend, { logs: g0.logs, defaults: { onStep: true, onEpoch: false }, batchSize: sizes[0] ?? 1, extra: [g0.loss], keep: [before, g0.state] })
          } catch (e) {
            backend.release(g0.state, before)
            throw e
          } finally {
            backend.dispose(g0.grads)
          }
          Promise.all(pending).then(
            (answers) => {
              if (subscriber.closed) {
                // Cancelled while the workers computed: nothing of this step survives.
                backend.release(g0.state, before)
                backend.dispose(a.batch)
                return
              }
              let next: TrainState<P, S> | undefined
              try {
                const report = answers.find((x) => x.rank === 1)?.m as (FromWorker & { type: 'done' }) | undefined
                const done = report?.update as UpdateReport
                // The new training state, as rank 1 wrote it (the module state is this rank's).
                const params = a.stepping ? unflattenParams(before.params, read(leavesOf('params'))) : before.params
                const optState = a.stepping ? (fromTemplate(done.optTemplate, read(leavesOf('opt'))) as StateTree) : before.optState
                const gradAccumulator = done.accumulating ? unflattenParams(before.params, read(leavesOf('params'), L.accumulatorOffset)) : null
                next = { ...before, params, state: g0.state, optState, gradAccumulator }
                version++
                updaterVersion = version
                inShared = { ...inShared, params, optState, gradAccumulator }
                backend.release(before, next)
                backend.dispose(a.batch)
                const loss = answers.reduce(
                  (x, { rank, m }) => x + (m.type === 'done' && m.loss !== undefined ? m.loss * ((sizes[rank] ?? 0) / total) : 0),
                  (mine.extra[0] as number) * ((sizes[0] ?? 0) / total),
                )
                const logs = mergeLogs([mine.logs, ...answers.map(({ m }) => (m.type === 'done' ? m.logs : []))])
                if (!Number.isFinite(loss) && o.optimizer.guardsNonFinite !== true) {
                  backend.release(next, [])
                  throw nonFiniteLoss(ctx, loss, logs)
                }
                subscriber.next({ state: next, loss, logs, batchSize: total, gradsFinite: done.gradsFinite })
                subscriber.complete()
              } catch (e) {
                subscriber.error(e)
              }
            },
            (e: unknown) => {
              // Also when unsubscribed (the workers were terminated): this step's tensors are ours.
              backend.release(g0.state, before)
              backend.dispose(a.batch)
              subscriber.error(e)
            },
          )
        } catch (e) {
          // Rank 1 may be waiting for this thread's gradients; the workers' answers go unheard.
          abort()
          for (const p of pending) p.catch(() => undefined)
          backend.dispose(a.batch)
          subscriber.error(e)
        }
      }),

    prepare: (batch) => {
      takePrepared()
      prepared = { batch, shards: cut(batch) }
    },

    close: () => {
      takePrepared()
      abort()
      for (const w of workers) void w.terminate()
      workers.length = 0
    },
  }
}
