import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { systemClock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { profiler, type ProfileRow } from '../../src/hooks/profiler.js'
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { metrics, nn, optim } from '../../src/index.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { readRun } from '../../src/report/readRun.js'
import { disposeTree, flattenParams } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'

let cpu: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
})

type Batch = { x: import('@tensorflow/tfjs-core').Tensor; y: import('@tensorflow/tfjs-core').Tensor }
const mlp = () => {
  const net = nn.sequential(nn.dense({ units: 64 }), nn.relu(), nn.dense({ units: 10 }))
  return defineModule({
    init: (k) => net.init(k, [32]),
    trainingStep: (model, batch: Batch, ctx) => {
      const out = net.apply(model, batch.x, ctx)
      return { loss: nn.softmaxCrossEntropy(out.y, batch.y), state: out.state }
    },
    validationStep: (model, batch: Batch, ctx) => ({ 'val/acc': metrics.accuracy(net.apply(model, batch.x, ctx).y, batch.y) }),
    optimizer: optim.adam({ lr: 1e-3 }),
  })
}
const n = 512
const columns = {
  x: { data: Float32Array.from({ length: n * 32 }, (_, i) => Math.sin(i)), shape: [32] },
  y: { data: Int32Array.from({ length: n }, (_, i) => i % 10), shape: [], dtype: 'int32' as const },
}
const data = () => ({ train: fromArrays(columns, { batchSize: 32 }), val: fromArrays(columns, { batchSize: 128 }) })

const params = (model: Parameters<typeof flattenParams>[0]) => flattenParams(model).map((l) => Array.from(l.tensor.dataSync()))

describe('profiler()', () => {
  it('times every phase, hooks by place, and the phases add up to the wall time within 5% (real clock)', async () => {
    const fs = memoryFileSystem()
    const console = bufferConsole()
    const env = { backend: cpu, signals: quiet, fs, console, clock: systemClock }
    const t0 = performance.now()
    await lastValueFrom(fit(mlp(), data(), { maxEpochs: 2, defaultRootDir: 'run' }, env).pipe(csvLogger(), checkpoint({ saveLast: true }), profiler()))
    const wall = performance.now() - t0
    const json = JSON.parse(E.getOrElse(() => '{}')(await fs.readText('run/profiler.json')())) as { wallMs: number; rows: ProfileRow[]; epochs: { rows: ProfileRow[] }[] }
    const rows = json.rows.filter((r) => r.action !== 'Total')
    const actions = rows.map((r) => r.action)
    for (const phase of ['setup', 'sanity check', 'data loading', 'forward+backward', 'optimizer update', 'host reads', 'validation', 'loop', 'hook 1 csvLogger', 'hook 2 checkpoint', 'hook 3 profiler'])
      expect(actions).toContain(phase)
    expect(actions.some((a) => a.includes('hook 2 checkpoint') && a.endsWith('(work)'))).toBe(true)
    expect(rows.find((r) => r.action === 'forward+backward')?.calls).toBe(2 * (n / 32))
    const sum = rows.reduce((a, r) => a + r.totalMs, 0)
    // The phases add up to the profiler's total, which is within 5% of the wall time measured outside.
    expect(Math.abs(sum - json.wallMs)).toBeLessThan(0.01 * json.wallMs + 0.01)
    expect(Math.abs(json.wallMs - wall)).toBeLessThan(0.05 * wall)
    // The loop's own time (no phase claims it) is a small part.
    expect(rows.find((r) => r.action === 'loop')?.percent).toBeLessThan(10)
    expect(json.epochs).toHaveLength(2)
    // Printed: a table per epoch and one for the whole run.
    const printed = console.lines.join('\n')
    expect(printed).toContain('Profiler report: epoch 0')
    expect(printed).toContain('Profiler report: epoch 1')
    expect(printed).toMatch(/Profiler report: the whole run[\s\S]*forward\+backward/)
    // The run report reads it as a table.
    const run = await readRun(fs, 'run')()
    expect(E.isRight(run) && run.right.profiler?.columns).toEqual(['action', 'meanMs', 'calls', 'totalMs', 'percent'])
  })

  it("'advanced' adds per-kernel times of the sampled steps; the training is bitwise the same as without a profiler", async () => {
    const fs = memoryFileSystem()
    const env = { backend: cpu, signals: quiet, fs, console: bufferConsole() }
    const events: FitEvent[] = []
    const run = async (withProfiler: boolean) => {
      const run$ = fit(mlp(), data(), { maxEpochs: 1, defaultRootDir: 'adv' }, env)
      const model = await lastValueFrom((withProfiler ? run$.pipe(profiler({ mode: 'advanced', kernelEvery: 4 })) : run$).pipe(tap((e: FitEvent) => events.push(e)), trainedModel()))
      const p = params(model.params)
      disposeTree(model)
      return p
    }
    expect(await run(true)).toEqual(await run(false))
    const json = JSON.parse(E.getOrElse(() => '{}')(await fs.readText('adv/profiler.json')())) as { kernels: { kernel: string; calls: number; totalMs: number }[] }
    const kernels = json.kernels.map((k) => k.kernel)
    expect(kernels).toContain('BatchMatMul')
    // 16 steps, every 4th sampled: the kernels of 4 steps (each runs several matrix products).
    const matMuls = json.kernels.find((k) => k.kernel === 'BatchMatMul')?.calls ?? 0
    expect(matMuls).toBeGreaterThanOrEqual(4 * 4)
    // The same count for each sampled step: nothing run after a step (hooks, the next steps) is counted.
    expect(matMuls % 4).toBe(0)
    expect(events.filter((e) => e.type === 'trainStep')).toHaveLength(2 * 16) // both runs
  })

  it('writes no file without a run folder, and refuses a bad kernelEvery', async () => {
    const fs = memoryFileSystem()
    await lastValueFrom(fit(mlp(), data(), { maxEpochs: 1, limitTrainBatches: 2, limitValBatches: 1 }, { backend: cpu, signals: quiet, fs, console: bufferConsole() }).pipe(profiler()))
    expect(await fs.exists('profiler.json')()).toBe(false)
    expect(() => profiler({ mode: 'advanced', kernelEvery: 1.5 })).toThrow(/kernelEvery/)
  })
})
