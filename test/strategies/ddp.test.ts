import * as tf from '@tensorflow/tfjs-core'
import { isObservable, lastValueFrom, type Subscription, tap } from 'rxjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { batchFromData, shardBatch, shardSlots } from '../../src/strategies/batchShards.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { blobsModule, failingMainModule, failingModule, plateauModule } from '../fixtures/ddpModule.js'
import { slowWorkersModule } from '../fixtures/ddpSlowModule.js'
import { stopWhen } from '../support/hooks.js'
import { quiet, useBackend } from '../support/backend.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('wasm')
  ;(globalThis as { __rxtrainMainThread?: boolean }).__rxtrainMainThread = true
})
afterEach(() => {
  shapeTrain = (s) => s
})

const blobs = (n: number) => ({
  x: { data: Float32Array.from({ length: n * 8 }, (_, i) => Math.sin(i * 0.7) + ((Math.floor(i / 8) % 3) - 1)), shape: [8] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
})
type Source = ReturnType<typeof fromArrays<ReturnType<typeof blobs>>>
/** The same source without its recipe: the main thread pulls whole batches and cuts them. */
const withoutRecipe = (s: Source): Source => ({ numBatches: s.numBatches, open: (o) => s.open(o) })
/** The source, recording the rows of each batch the main thread pulls from it. */
const recordingRows = (s: Source, rows: number[]): Source => ({
  ...s,
  open: (o) => {
    const it = s.open(o)
    return {
      next: () => {
        const r = it.next()
        if (!isObservable(r) && r.done !== true) rows.push(r.value.y.shape[0] ?? -1)
        return r
      },
      close: () => it.close(),
    }
  },
})
let shapeTrain: (s: Source) => Source = (s) => s
const data = (batchSize = 33) => ({ train: shapeTrain(fromArrays(blobs(20 * 33), { batchSize, shuffle: true })), val: fromArrays(blobs(40), { batchSize: 20 }) })

const train = async (options: Parameters<typeof fit>[2], module: typeof blobsModule | typeof plateauModule = blobsModule, env: Partial<Parameters<typeof fit>[3]> = {}, hooks = (r: ReturnType<typeof fit>) => r, batchSize = 33) => {
  const events: FitEvent[] = []
  const run = fit(module, data(batchSize), { maxSteps: 20, logEveryNSteps: 1, seed: 4, ...options }, { backend, signals: quiet, ...env })
  const model = await lastValueFrom(hooks(run).pipe(tap((e) => events.push(e)), trainedModel()))
  const params = flattenParams(model.params).map((l) => Array.from(l.tensor.dataSync()))
  disposeTree(model)
  return { params, events }
}

describe('sharding a batch', () => {
  it('cuts along the batch dimension into nearly equal, disjoint shards that rebuild', () => {
    const x = tf.tensor2d(Array.from({ length: 10 }, (_, i) => i), [5, 2])
    const { local, remote, sizes } = shardBatch({ x }, 3, shardSlots(), 'wasm')
    expect(sizes).toEqual([2, 2, 1])
    const rebuilt = [local as { x: tf.Tensor }, ...remote.map((s) => batchFromData(s, 'wasm') as { x: tf.Tensor })]
    expect(rebuilt.map((b) => Array.from(b.x.dataSync()))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    disposeTree([x, rebuilt])
  })

  it('copies int32 and bool tensors too, and reuses a slot for a smaller shard (a larger one gets a new slot)', () => {
    const slots = shardSlots()
    const cut = (n: number) => {
      const batch = { x: tf.tensor2d(Array.from({ length: 2 * n }, (_, i) => i / 2), [n, 2]), y: tf.tensor1d(Array.from({ length: n }, (_, i) => i), 'int32'), m: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2 === 0), 'bool') }
      const { local, remote } = shardBatch(batch, 2, slots, 'wasm')
      const shard = remote[0] as (typeof remote)[number]
      const rebuilt = batchFromData(shard, 'wasm') as typeof batch
      const values = { x: Array.from(rebuilt.x.dataSync()), y: Array.from(rebuilt.y.dataSync()), m: Array.from(rebuilt.m.dataSync()), dtypes: [rebuilt.y.dtype, rebuilt.m.dtype] }
      disposeTree([batch, local, rebuilt])
      return { values, buffer: shard.buffer }
    }
    const six = cut(6)
    expect(six.values.x).toEqual([3, 3.5, 4, 4.5, 5, 5.5])
    expect(six.values.y).toEqual([3, 4, 5])
    expect(six.values.m).toEqual([0, 1, 0])
    expect(six.values.dtypes).toEqual(['int32', 'bool'])
    expect(cut(4).buffer).toBe(six.buffer)
    const big = cut(40)
    expect(big.buffer).not.toBe(six.buffer)
    expect(big.values.y).toEqual(Array.from({ length: 20 }, (_, i) => 20 + i))
  })
})

describe("strategy: 'ddp'", () => {
  it('a last batch smaller than the number of ranks (1 example on 2 ranks) trains on rank 0 alone, as on one device', async () => {
    const run = async (options: Parameters<typeof fit>[2]) => {
      const model = await lastValueFrom(fit(blobsModule, { train: fromArrays(blobs(5), { batchSize: 4 }) }, { maxEpochs: 2, seed: 4, ...options }, { backend, signals: quiet }).pipe(trainedModel()))
      const params = flattenParams(model.params).flatMap((l) => Array.from(l.tensor.dataSync()))
      disposeTree(model)
      return params
    }
    const single = await run({})
    const before = tf.memory().numTensors
    const parallel = await run({ strategy: 'ddp', devices: 2 })
    expect(tf.memory().numTensors).toBe(before)
    expect(parallel.reduce((m, v, i) => Math.max(m, Math.abs(v - (single[i] as number))), 0)).toBeLessThan(1e-5)
  }, 60_000)

  it('a stop mid-epoch releases the shards cut ahead for a batch never trained', async () => {
    shapeTrain = withoutRecipe
    const before = tf.memory().numTensors
    const { events } = await train({ strategy: 'ddp', devices: 2, maxSteps: 100, numSanityValSteps: 0, limitValBatches: 0 }, blobsModule, {}, (r) =>
      r.pipe(stopWhen((e) => e.type === 'trainStep' && e.batchIdx === 4)),
    )
    expect(events.filter((e) => e.type === 'trainStep').length).toBe(5)
    expect(tf.memory().numTensors).toBe(before)
  }, 60_000)

  it('2 ranks train the same model as one device on the same global batches (1e-5 after 20 steps), with the same logged values', async () => {
    const single = await train({})
    const before = tf.memory().numTensors
    const parallel = await train({ strategy: 'ddp', devices: 2 })
    expect(tf.memory().numTensors).toBe(before)
    let worst = 0
    single.params.forEach((leaf, i) => leaf.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ((parallel.params[i] as number[])[j] as number))))))
    expect(worst).toBeLessThan(1e-5)
    const losses = (r: typeof single) => r.events.flatMap((e) => (e.type === 'trainStep' ? [e.loss] : []))
    losses(single).forEach((l, i) => expect(losses(parallel)[i]).toBeCloseTo(l, 5))
    const acc = (r: typeof single) => r.events.flatMap((e) => (e.type === 'trainStep' ? [e.metrics['train/acc']] : []))
    expect(acc(parallel)).toEqual(acc(single))
  }, 60_000)

  it("with a source that has a recipe, each rank loads its own rows (this thread only rank 0's), and trains exactly as when this thread cuts whole batches", async () => {
    const rows: number[] = []
    shapeTrain = (s) => recordingRows(s, rows)
    const before = tf.memory().numTensors
    const own = await train({ strategy: 'ddp', devices: 2, maxSteps: 12, numSanityValSteps: 0, limitValBatches: 0 })
    // 33 rows per batch: 17 in rank 0, 16 in rank 1 (and one batch pulled ahead at most)
    expect(new Set(rows)).toEqual(new Set([17]))
    expect(rows.length).toBeGreaterThanOrEqual(12)
    rows.length = 0
    shapeTrain = (s) => recordingRows(withoutRecipe(s), rows)
    const cut = await train({ strategy: 'ddp', devices: 2, maxSteps: 12, numSanityValSteps: 0, limitValBatches: 0 })
    expect(new Set(rows)).toEqual(new Set([33]))
    expect(own.params).toEqual(cut.params)
    expect(tf.memory().numTensors).toBe(before)
  }, 60_000)

  it('gradient accumulation and clipping on 2 ranks match one device (1e-5)', async () => {
    const options = { accumulateGradBatches: 3, gradientClipVal: 0.05, maxSteps: 7 }
    const single = await train(options)
    const unclipped = await train({ ...options, gradientClipVal: 0 })
    const parallel = await train({ ...options, strategy: 'ddp', devices: 2 })
    const worst = (x: typeof single, y: typeof single) => x.params.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - (y.params.flat()[i] as number))), 0)
    expect(worst(single, unclipped)).toBeGreaterThan(1e-3)
    expect(worst(single, parallel)).toBeLessThan(1e-5)
    expect(parallel.events.filter((e) => e.type === 'trainStep' && e.optimizerStepped).length).toBe(7)
  }, 60_000)

  it('an optimizer state the loop changes between steps (a plateau at epoch ends) trains as on one device', async () => {
    const options = { maxEpochs: 3, maxSteps: -1, limitTrainBatches: 4 }
    const single = await train(options, plateauModule)
    const parallel = await train({ ...options, strategy: 'ddp', devices: 2 }, plateauModule)
    const scales = (r: typeof single) => r.events.flatMap((e) => (e.type === 'epochEnd' ? [plateauModule.optimizer.hyperparams?.(e.state.optState as never)?.plateauScale] : []))
    expect(scales(single)).toEqual([1, 0.5, 0.25])
    expect(scales(parallel)).toEqual(scales(single))
    const worst = single.params.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - (parallel.params.flat()[i] as number))), 0)
    expect(worst).toBeLessThan(1e-5)
  }, 60_000)

  it("'16-mixed' on 2 ranks: the workers compute in emulated float16 too, and the loss scale moves as on one device", async () => {
    const options = { precision: '16-mixed' as const, lossScaler: { initScale: 2 ** 20, growthInterval: 3 } }
    const single = await train(options)
    const parallel = await train({ ...options, strategy: 'ddp', devices: 2 })
    const scales = (r: typeof single) => r.events.flatMap((e) => (e.type === 'trainStep' ? [e.loop.lossScale.scale] : []))
    // 2^20 overflows float16 gradients at first: both back off the same way, then grow
    // 2^20 overflows float16 gradients at first: both back off the same way, then grow. Later
    // they may part: each rank's gradient carries its shard's share of the loss, so it overflows
    // float16 at a different scale than the whole batch's.
    expect(scales(parallel).slice(0, 12)).toEqual(scales(single).slice(0, 12))
    expect(scales(parallel).slice(0, 4)).toEqual([2 ** 19, 2 ** 18, 2 ** 18, 2 ** 18])
    const params = (r: typeof single) => r.params.flat()
    const worst = params(single).reduce((m, v, i) => Math.max(m, Math.abs(v - (params(parallel)[i] as number))), 0)
    // the same training, up to float16 rounding of per-rank gradients and a differently skipped step
    expect(worst).toBeGreaterThan(0)
    expect(worst).toBeLessThan(0.1)
  }, 60_000)

  it('3 ranks with unequal shards (11, 11, 10 of 32) on the cpu backend match one device to 1e-5', async () => {
    const cpu = await useBackend('cpu')
    try {
      const single = await train({}, blobsModule, { backend: cpu }, (r) => r, 32)
      const parallel = await train({ strategy: 'ddp', devices: 3, accelerator: 'cpu' }, blobsModule, { backend: cpu }, (r) => r, 32)
      let worst = 0
      single.params.forEach((leaf, i) => leaf.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ((parallel.params[i] as number[])[j] as number))))))
      expect(worst).toBeLessThan(1e-5)
    } finally {
      backend.activate()
    }
  }, 60_000)

  it('writes each checkpoint once, and a data-parallel run resumes from it to the same parameters', async () => {
    const fs = memoryFileSystem()
    const written: string[] = []
    const counting = {
      ...fs,
      writeFile: (path: string, data: Uint8Array | string) => {
        if (path.includes('manifest.json')) written.push(path)
        return fs.writeFile(path, data)
      },
      writeFileAtomic: (path: string, data: Uint8Array | string) => {
        if (path.includes('manifest.json')) written.push(path)
        return fs.writeFileAtomic(path, data)
      },
    }
    const saving = (r: ReturnType<typeof fit>) => r.pipe(checkpoint({ dir: '/ckpt', everyNTrainSteps: 5, saveTopK: -1, saveLast: true }))
    const straight = await train({ strategy: 'ddp', devices: 2, maxSteps: 20 })
    await train({ strategy: 'ddp', devices: 2, maxSteps: 10 }, blobsModule, { fs: counting }, saving)
    // once per save (steps 5 and 10), by the main thread only
    expect(written).toEqual(['/ckpt/.tmp-epoch=0-step=5/manifest.json', '/ckpt/.tmp-epoch=0-step=10/manifest.json'])
    const resumed = await train({ strategy: 'ddp', devices: 2, maxSteps: 20, ckptPath: '/ckpt/last' }, blobsModule, { fs })
    expect(resumed.params).toEqual(straight.params)
  }, 60_000)

  it('a crashing worker stops the whole run with its error, never a hang', async () => {
    const failure = await train({ strategy: 'ddp', devices: 2 }, failingModule).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/in worker 1: .*boom in a worker|worker 1 failed: .*boom in a worker/)
  }, 60_000)

  it('an error in the main thread\'s step stops the run with it and leaks nothing', async () => {
    const before = tf.memory().numTensors
    const failure = await train({ strategy: 'ddp', devices: 2 }, failingMainModule).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/boom in the main thread/)
    expect(tf.memory().numTensors).toBe(before)
  }, 60_000)

  it('unsubscribing while a step is in flight (the workers still computing) leaks no copy of the parameters', async () => {
    const before = tf.memory().numTensors
    const g = globalThis as { __rxtrainStepInFlight?: (batchIdx: number) => void }
    const trained: number[] = []
    try {
      await new Promise<void>((resolve, reject) => {
        let run: Subscription | undefined
        // Called from the main thread's shard of batch 3, while the workers block on theirs.
        g.__rxtrainStepInFlight = () =>
          setTimeout(() => {
            run?.unsubscribe()
            resolve()
          }, 20)
        run = fit(slowWorkersModule, data(), { strategy: 'ddp', devices: 2, maxSteps: 20, seed: 4, numSanityValSteps: 0 }, { backend, signals: quiet }).subscribe({
          next: (e) => {
            if (e.type === 'trainStep') trained.push(e.batchIdx)
          },
          error: reject,
          complete: () => reject(new Error('the run completed before it was cancelled')),
        })
      })
    } finally {
      delete g.__rxtrainStepInFlight
    }
    // cancelled in the middle of batch 3's step
    expect(trained).toEqual([0, 1, 2])
    // The workers close (their step's wait fails then, and it releases what it holds).
    for (let waited = 0; waited < 5_000 && tf.memory().numTensors !== before; waited += 50) await new Promise((r) => setTimeout(r, 50))
    expect(tf.memory().numTensors).toBe(before)
  }, 60_000)

  it('needs to know where workers import the module from', async () => {
    const { source: _, ...withoutSource } = blobsModule
    const failure = await train({ strategy: 'ddp', devices: 2 }, withoutSource as typeof blobsModule).catch((e: unknown) => e)
    expect((failure as Error).message).toMatch(/strategy 'ddp' runs the module in worker threads[\s\S]*source: \{ url: import\.meta\.url/)
  })
})
