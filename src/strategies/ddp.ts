import type { Worker } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import { from, Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import type { Precision } from '../backends/precision.js'
import { type ErrorTag, RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { TrainState } from '../pipeline/events.js'
import type { Module } from '../pipeline/module.js'
import { readBack } from '../pipeline/readBack.js'
import { foldIn } from '../random/key.js'
import { applyGradients, computeGradients } from '../pipeline/step.js'
import { weightLoss } from '../pipeline/stepTransformers.js'
import { nonFiniteLoss, stepOf, type TrainedBatch, type TrainOnBatch } from '../pipeline/trainOnBatch.js'
import type { GradientTransform } from '../optim/transform.js'
import { leafTensors, type Params, type StateTree, unflattenParams } from '../tree/tree.js'
import type { BatchSource, PassOrder } from '../data/source.js'
import { type Shards, type ShardSlots, shardBatch, shardSlots } from './batchShards.js'
import { mergeLogs } from './mergeLogs.js'
import { rankPasses } from './rankPasses.js'
import { startWorker } from '#platform/startWorker.js'
import { ddpWorkerData } from './workerContext.js'
import type { FromWorker, SharedLayout, ToWorker } from './protocol.js'
import { layoutOf } from './layout.js'
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
}

/** The worker's script beside this file: compiled, or the TypeScript source when rxtrain runs from its sources. */
const ddpWorkerScript = (): URL => new URL(import.meta.url.endsWith('.ts') ? './ddpWorker.ts' : './ddpWorker.js', import.meta.url)

const workerError = (rank: number, m: { message: string; tag?: string; problem?: string; remedy?: string }): RxtrainError =>
  m.tag !== undefined && m.problem !== undefined && m.remedy !== undefined
    ? new RxtrainError(m.tag as ErrorTag, `in worker ${rank}: ${m.problem}`, m.remedy)
    : rxtrainError('StepError', `worker ${rank} failed: ${m.message}`, 'the error happened in a data-parallel worker thread; run with strategy: "single" to see it in the main thread.', { rank })

/**
 * Distributed data parallel on one machine (Lightning's `strategy: 'ddp'`): `devices` ranks, this
 * thread and `devices - 1` worker threads, each with its own tfjs engine. Every global batch is cut
 * into disjoint shards; each rank computes its shard's gradients with the same variables, the
 * gradients are averaged (weighted by shard size) through shared memory, and this thread applies
 * the update and shares the new variables, so every rank trains the same model. Logged values are
 * reduced across ranks before logging; hooks (and so checkpoints) run once, in this thread.
 */
export const ddp = (o: DdpOptions): TrainStrategy => {
  const workers: Worker[] = []
  let layout: SharedLayout | undefined
  let variables: Float32Array | undefined
  let gradients: Float32Array | undefined
  let version = 0
  let shared: Params | undefined
  let failure: RxtrainError | undefined
  // Set when the run ends: the workers are terminated then, and their exits are no failure.
  let closed = false
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

  // The pass under way, when every rank loads its own rows of each batch (a source with a
  // recipe): then this thread pulls only rank 0's rows, and nothing is cut or copied.
  const openRankPass = rankPasses(o.devices, (rank, message) => workers[rank - 1]?.postMessage(message))
  let ownRows: ((batch: unknown, batchIdx: number) => Shards) | undefined

  const share = (state: TrainState): void => {
    if (shared === state.params || layout === undefined || variables === undefined) return
    const all = [...leafTensors(state.params), ...leafTensors(state.state)]
    all.forEach((leaf, i) => writeToShared(o.backend.name, leaf, variables as Float32Array, (layout as SharedLayout).leaves[i]?.offset ?? 0))
    shared = state.params
    version++
  }

  const ask = (rank: number, message: ToWorker): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      if (failure !== undefined) return reject(failure)
      waiting.set(rank, { resolve, reject })
      workers[rank - 1]?.postMessage(message)
    })

  const failAll = (e: RxtrainError): void => {
    failure ??= e
    for (const w of waiting.values()) w.reject(failure)
    waiting.clear()
  }

  return {
    name: 'ddp',
    start: (state) =>
      new Observable<void>((subscriber) => {
        layout = layoutOf(state)
        const variablesBuffer = new SharedArrayBuffer(layout.totalWords * 4)
        const gradientsBuffer = new SharedArrayBuffer(Math.max(1, o.devices - 1) * layout.paramWords * 4)
        variables = new Float32Array(variablesBuffer)
        gradients = new Float32Array(gradientsBuffer)
        for (let rank = 1; rank < o.devices; rank++) {
          const worker = startWorker(ddpWorkerScript(), ddpWorkerData(rank))
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
            if (code !== 0 && !closed) failAll(rxtrainError('StepError', `worker ${rank} exited with code ${code}`, 'a data-parallel worker died; the run cannot go on without it.', { rank }))
          })
        }
        share(state)
        const init = (rank: number): ToWorker => ({
          type: 'init',
          rank,
          backend: o.backend.name,
          precision: o.precision.name,
          moduleUrl: o.source.url,
          exportName: o.source.exportName,
          layout: layout as SharedLayout,
          variables: variablesBuffer,
          gradients: gradientsBuffer,
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
        let next: TrainState<P, S> | undefined
        let pending: Promise<{ rank: number; m: FromWorker }>[] = []
        try {
          share(before)
          const { local, remote, sizes } = ownRows === undefined ? shardsOf(a.batch) : ownRows(a.batch, ctx.batchIdx)
          const total = sizes.reduce((x, y) => x + y, 0)
          // Every rank runs the gradient half of the run's step on its shard, its objective
          // weighted by its share of the global batch, so the global gradient is the plain sum of
          // the ranks' gradients; the sum goes through the same step's update half.
          const step = stepOf(a)
          const weight = (rank: number) => (sizes[rank] ?? 0) / total
          // Random ops (dropout) draw independently in each rank: rank r > 0 folds r into the key.
          const ctxData = (rank: number) => {
            const k = foldIn(ctx.key, rank)
            // Plain data only (the precision's cast is a function: the step adds it in each rank).
            return { stage: ctx.stage, training: ctx.training, key: [k[0], k[1]] as const, epoch: ctx.epoch, batchIdx: ctx.batchIdx, globalStep: ctx.globalStep }
          }
          // Ranks with no rows of this batch (a batch smaller than the ranks) get no step.
          pending = sizes.flatMap((size, rank) =>
            rank === 0 || size === 0
              ? []
              : [
                  ask(rank, {
                    type: 'step',
                    version,
                    ...(remote[rank - 1] !== undefined && { batch: remote[rank - 1] }),
                    size,
                    ctx: ctxData(rank),
                    accumulateGradBatches: step.accumulateGradBatches,
                    lossWeight: weight(rank),
                    lossScale: ctx.lossScale,
                  }).then((m) => ({
                    rank,
                    m,
                  })),
                ],
          )
          // This thread's shard, computed while the workers compute theirs.
          const { g0, own } = (() => {
            try {
              const g0 = backend.scoped(() => computeGradients(weightLoss(weight(0))(step), before, local, ctx))
              return { g0, own: readBack(backend, { logs: g0.logs, defaults: { onStep: true, onEpoch: false }, batchSize: sizes[0] ?? 1, extra: [g0.loss], keep: [before, local, g0.grads, g0.state] }) }
            } finally {
              backend.dispose(local)
            }
          })()
          Promise.all(pending).then(
            (answers) => {
              if (subscriber.closed) {
                // Cancelled while the workers computed: nothing of this step survives.
                backend.dispose(g0.grads)
                backend.release(g0.state, before)
                backend.dispose(a.batch)
                return
              }
              try {
                const updated = backend.scoped(() => {
                  // The global gradient: the sum of the ranks' (already weighted) gradients.
                  const summed = leafTensors(g0.grads).map((leaf, i) => {
                    let acc = leaf
                    for (const { rank } of answers) {
                      const spec = (layout as SharedLayout).leaves[i] as SharedLayout['leaves'][number]
                      const start = (rank - 1) * (layout as SharedLayout).paramWords + spec.offset
                      acc = tf.add(acc, tensorFromShared(backend.name, gradients as Float32Array, start, spec.size, spec.shape))
                    }
                    return acc === leaf ? tf.clone(acc) : acc
                  })
                  return applyGradients(step, before, { grads: unflattenParams(g0.grads, summed), state: g0.state }, ctx)
                })
                next = updated.state
                backend.dispose(g0.grads)
                backend.release(before, next)
                backend.dispose(a.batch)
                const loss = answers.reduce((x, { rank, m }) => x + (m.type === 'done' ? m.loss * ((sizes[rank] ?? 0) / total) : 0), (own.extra[0] as number) * ((sizes[0] ?? 0) / total))
                const logs = mergeLogs([own.logs, ...answers.map(({ m }) => (m.type === 'done' ? m.logs : []))])
                if (!Number.isFinite(loss) && o.optimizer.guardsNonFinite !== true) {
                  backend.release(next, [])
                  throw nonFiniteLoss(ctx, loss, logs)
                }
                subscriber.next({ state: next, loss, logs, batchSize: total, gradsFinite: updated.gradsFinite, lossScale: updated.lossScale })
                subscriber.complete()
              } catch (e) {
                subscriber.error(e)
              }
            },
            (e: unknown) => {
              // Also when unsubscribed (the workers were terminated): this step's tensors are ours.
              backend.release(g0, [before])
              backend.dispose(a.batch)
              subscriber.error(e)
            },
          )
        } catch (e) {
          // The workers' answers to this step have no one to take them now.
          for (const p of pending) p.catch(() => undefined)
          backend.dispose(a.batch)
          subscriber.error(e)
        }
      }),

    openTrain: <B>(source: BatchSource<B>, order: PassOrder) => {
      takePrepared()
      const recipe = source.recipe
      if (recipe === undefined || workers.length === 0) {
        ownRows = undefined
        return source.open(order)
      }
      const pass = openRankPass(source, recipe, order)
      ownRows = pass.shards
      return pass.iterator
    },

    prepare: (batch) => {
      if (ownRows !== undefined) return
      takePrepared()
      prepared = { batch, shards: cut(batch) }
    },

    close: () => {
      closed = true
      takePrepared()
      // A step still waiting for the workers (the run was unsubscribed mid-step) will never hear
      // from them now: fail its wait, so that it releases its gradients and batch.
      failAll(rxtrainError('StepError', 'the run ended while data-parallel workers were computing a step', 'nothing to do: the run was stopped or unsubscribed.'))
      const exits = workers.map((w) => w.terminate().catch(() => undefined))
      workers.length = 0
      return exits.length === 0 ? undefined : from(Promise.all(exits))
    },
  }
}
