/**
 * `npm run bench`: rxtrain against the hand-written tfjs loop and tfjs-layers `model.fit`, measured
 * in one process run, on every backend here. Prints a table and writes bench/results/latest.md.
 *
 * Flags: --quick (fewer repetitions and steps, for a smoke run).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, type Observable, tap } from 'rxjs'
import {
  type Backend,
  checkpoint,
  csvLogger,
  data,
  disposeTree,
  effects,
  type FitEvent,
  fit,
  key,
  progressBar,
  split,
  startBackend,
  tensorboard,
  tidy,
} from '../src/index.js'
import { xnnpackBatchMatMul } from '../src/backends/wasmGemm.js'
import { gemmFloorSeconds, type MatMul } from './gemmFloor.js'
import { cnn, handLoop, mlp, moduleOf, moduleWithSource, sourceOf, type Workload } from './workloads.js'

const quick = process.argv.includes('--quick')
const here = dirname(fileURLToPath(import.meta.url))

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const rssMb = (): number => process.memoryUsage().rss / 2 ** 20

/** A full collection, where node runs with `--expose-gc` (as `npm run bench` does). */
const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.()
const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function'

const unwrap = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw e.left
  return e.right
}

type Variant = 'plain' | 'plainOps' | 'hooks' | 'ddp' | 'ddpSplit'

/**
 * One rxtrain run of `epochs` passes over `steps` batches: its seconds, its steady samples/s (from
 * the end of its first quarter of steps to its last, which leaves out starting DDP's worker threads
 * and their warm-up: new threads run their first steps before the JIT and the heap settle) and
 * final loss. `ddp` runs 2 ranks, each with the workload's batch size (Lightning's per-device
 * `batch_size`), so its global batches are twice as big; `ddpSplit` splits the workload's batch
 * between 2 ranks.
 */
const rxtrainRun = async (w: Workload, backend: Backend, arrays: data.MnistArrays, steps: number, variant: Variant, epochs = 1) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxtrain-bench-'))
  let loss = Number.NaN
  const total = steps * epochs
  // The steady state is timed from the end of this step (the first quarter) to the last.
  const steadyFrom = Math.max(1, Math.floor(total / 4))
  let first = 0
  let last = 0
  const global = variant === 'ddp' ? { ...w, batchSize: 2 * w.batchSize } : w
  const parallel = variant === 'ddp' || variant === 'ddpSplit'
  const options = { maxEpochs: epochs, numSanityValSteps: 0, defaultRootDir: dir, ...(parallel && { strategy: 'ddp' as const, devices: 2 }) }
  // The hooks run (d) prints its progress bar to a buffer: the terminal is not what is measured.
  const env = variant === 'hooks' ? { backend, console: effects.bufferConsole(), terminal: { write: () => true, isTTY: false } } : { backend }
  let run: Observable<FitEvent> = fit(parallel ? moduleWithSource(w) : moduleOf(w, variant === 'plainOps' ? 'adamOps' : 'adam'), { train: sourceOf(global, arrays, steps) }, options, env)
  if (variant === 'hooks') run = run.pipe(checkpoint({ saveLast: true }), csvLogger(), tensorboard(), progressBar())
  const start = performance.now()
  await lastValueFrom(
    run.pipe(
      tap((e) => {
        if (e.type !== 'trainStep') return
        loss = e.loss
        last = performance.now()
        if (e.globalStep === steadyFrom) first = last
      }),
    ),
  )
  const seconds = (performance.now() - start) / 1000
  rmSync(dir, { recursive: true, force: true })
  return { seconds, steadySamplesPerSecond: ((total - steadyFrom) * global.batchSize) / ((last - first) / 1000), loss }
}

interface Row {
  readonly workload: string
  readonly backend: string
  readonly steps: number
  readonly samplesPerSecond: { a?: number; b?: number; c?: number; o?: number; d?: number; e?: number; g?: number; f?: number }
  /** Steady-state samples/s (from the end of the first quarter of the steps to the last) of (c) and (e). */
  readonly steady: { c?: number; e?: number }
  /** (e) over its whole run, its threads' start and warm-up included, and the passes it ran. */
  readonly ddpWhole?: { readonly samplesPerSecond: number; readonly epochs: number }
  /**
   * Ratios of methods within one repetition (methods in order, then in reverse), median over
   * repetitions: a drift of the machine's speed within a repetition cancels from them. (The
   * table's ratios divide the medians, which the balanced orders keep fair and which one slow
   * run moves less.)
   */
  readonly paired: { ca?: number; oa?: number; dc?: number; ec?: number; cg?: number; cf?: number }
  /** The same ratios from the fastest run of each method (noise only ever slows a run down). */
  readonly fastest: { ca?: number; oa?: number; dc?: number; ec?: number; cg?: number; cf?: number }
  readonly lossA?: number
  readonly lossC?: number
  /** (c')'s final loss: Adam op by op, which the fused kernel must equal bit for bit. */
  readonly lossO?: number
  /** Why (b) has no number (tfjs-layers failed on this backend). */
  readonly layersError?: string
}

/** (b) in a process of its own, with tfjs as shipped (no rxtrain kernel corrections). */
const layersBaseline = (w: Workload, backend: string, steps: number, reps: number): { samplesPerSecond?: number; error?: string } => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'layersBaseline.ts'), w.name, backend, String(steps), String(reps)], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1) as string)
}

const measure = async (
  w: Workload,
  backend: Backend,
  arrays: data.MnistArrays,
  steps: number,
  reps: number,
  methods: readonly Method[],
  warmSteps = Math.min(3, steps),
  ddpEpochs = 1,
): Promise<Row> => {
  backend.activate()
  const times: Record<string, number[]> = { a: [], b: [], c: [], o: [], d: [], e: [], g: [], f: [] }
  const steady: Record<string, number[]> = { c: [], e: [] }
  let lossA: number | undefined
  let lossC: number | undefined
  let lossO: number | undefined
  const initial = () => tidy(() => moduleOf(w).init(split(key(0), 4)[0]))
  // warm-up: compile kernels, fill caches (not timed)
  for (const m of warmSteps === 0 ? [] : methods) {
    if (m === 'a') {
      const init = initial()
      handLoop(w, init, arrays, warmSteps)
      disposeTree(init)
    } else if (m === 'g' || m === 'f') gemmFloorSeconds(w, warmSteps, m === 'g' ? 'reused' : 'fresh', floorMatMul)
    else if (m !== 'b') await rxtrainRun(w, backend, arrays, warmSteps, variantOf(m), m === 'e' ? ddpEpochs : 1)
  }
  // Each repetition runs the methods forwards, then backwards (a c d e e d c a): the two runs of
  // a method sit symmetrically in time around the repetition's middle, so a machine slowing down or
  // speeding up steadily over it weighs the same on every method and cancels from their ratios.
  // The forward order is a row of a Williams design (a c e d, c d a e, ...): over as many
  // repetitions as there are methods, each method directly follows each other one exactly twice,
  // so that a run that leaves the machine busy (DDP's threads winding down) weighs on every method
  // alike. The heap is collected before every timed run, so that no run pays for the garbage of
  // the one before it. A single method has no ratio to protect: it runs once per repetition.
  const timed = methods.filter((m): m is Exclude<Method, 'b'> => m !== 'b')
  const orderOf = (r: number): readonly Exclude<Method, 'b'>[] => {
    if (timed.length < 2) return timed
    const row = williamsRow(timed.length, r).map((i) => timed[i] as Exclude<Method, 'b'>)
    return [...row, ...[...row].reverse()]
  }
  for (let r = 0; r < reps; r++)
    for (const m of orderOf(r)) {
      collectGarbage()
      if (m === 'a') {
        // From parameter initialisation, as (c)'s fit starts with the module's init.
        const start = performance.now()
        const init = initial()
        lossA = handLoop(w, init, arrays, steps)
        times.a?.push((performance.now() - start) / 1000)
        disposeTree(init)
      } else if (m === 'g' || m === 'f') {
        times[m]?.push(gemmFloorSeconds(w, steps, m === 'g' ? 'reused' : 'fresh', floorMatMul))
      } else {
        const result = await rxtrainRun(w, backend, arrays, steps, variantOf(m), m === 'e' ? ddpEpochs : 1)
        times[m]?.push(result.seconds)
        steady[m]?.push(result.steadySamplesPerSecond)
        if (m === 'c') lossC = result.loss
        if (m === 'o') lossO = result.loss
      }
    }
  const sps = (m: string) => ((times[m]?.length ?? 0) > 0 ? (steps * w.batchSize * (m === 'e' ? 2 * ddpEpochs : 1)) / median(times[m] as number[]) : undefined)
  const steadySps = (m: string) => ((steady[m]?.length ?? 0) > 0 ? median(steady[m] as number[]) : undefined)
  // samples/s of x over samples/s of y, per repetition (its two runs of each added up; times are
  // seconds for the same samples, steady values samples/s)
  const perRep = (v: number[]) => Array.from({ length: v.length / 2 }, (_, i) => (v[2 * i] as number) + (v[2 * i + 1] as number))
  const paired = (x: number[] | undefined, y: number[] | undefined, higherIsFaster: boolean) => {
    if (x === undefined || y === undefined || x.length === 0 || x.length !== y.length) return undefined
    const [xs, ys] = [perRep(x), perRep(y)]
    return median(xs.map((v, i) => (higherIsFaster ? v / (ys[i] as number) : (ys[i] as number) / v)))
  }
  // fastest run of x over fastest run of y, as samples/s (times: lower is faster; steady: higher)
  const best = (x: number[] | undefined, y: number[] | undefined, higherIsFaster: boolean) => {
    if (x === undefined || y === undefined || x.length === 0 || y.length === 0) return undefined
    return higherIsFaster ? Math.max(...x) / Math.max(...y) : Math.min(...y) / Math.min(...x)
  }
  const layers = methods.includes('b') ? layersBaseline(w, backend.name, steps, reps) : {}
  backend.activate()
  return {
    workload: w.name,
    backend: backend.name,
    steps,
    samplesPerSecond: { a: sps('a'), b: layers.samplesPerSecond, c: sps('c'), o: sps('o'), d: sps('d'), e: steadySps('e'), g: sps('g'), f: sps('f') },
    steady: { c: steadySps('c'), e: steadySps('e') },
    ...(times.e !== undefined && times.e.length > 0 && { ddpWhole: { samplesPerSecond: sps('e') as number, epochs: ddpEpochs } }),
    paired: {
      ca: paired(times.c, times.a, false),
      oa: paired(times.o, times.a, false),
      dc: paired(times.d, times.c, false),
      ec: paired(steady.e, steady.c, true),
      cg: paired(times.c, times.g, false),
      cf: paired(times.c, times.f, false),
    },
    fastest: {
      ca: best(times.c, times.a, false),
      oa: best(times.o, times.a, false),
      dc: best(times.d, times.c, false),
      ec: best(steady.e, steady.c, true),
      cg: best(times.c, times.g, false),
      cf: best(times.c, times.f, false),
    },
    ...(layers.error !== undefined && { layersError: layers.error }),
    ...(lossA !== undefined && { lossA }),
    ...(lossC !== undefined && { lossC }),
    ...(lossO !== undefined && { lossO }),
  }
}

/**
 * The same loop, exactly: with SGD (no optimizer numerics to differ), the hand-written tfjs loop
 * and rxtrain reach the same loss from the same parameters and batches.
 */
const sameLoop = async (w: Workload, backend: Backend, arrays: data.MnistArrays, steps: number) => {
  backend.activate()
  const init = tidy(() => moduleOf(w, 'sgd').init(split(key(0), 4)[0]))
  const hand = handLoop(w, init, arrays, steps, 'sgd')
  disposeTree(init)
  let loss = Number.NaN
  await lastValueFrom(
    fit(moduleOf(w, 'sgd'), { train: sourceOf(w, arrays, steps) }, { maxEpochs: 1, numSanityValSteps: 0 }, { backend }).pipe(
      tap((e) => {
        if (e.type === 'trainStep') loss = e.loss
      }),
    ),
  )
  // With rxtrain's default Adam (float64 bias corrections): the hand loop with the same corrections.
  const init64 = tidy(() => moduleOf(w, 'adam64').init(split(key(0), 4)[0]))
  const hand64 = handLoop(w, init64, arrays, steps, 'adam64')
  disposeTree(init64)
  let adamLoss = Number.NaN
  await lastValueFrom(
    fit(moduleOf(w, 'adam64'), { train: sourceOf(w, arrays, steps) }, { maxEpochs: 1, numSanityValSteps: 0 }, { backend }).pipe(
      tap((e) => {
        if (e.type === 'trainStep') adamLoss = e.loss
      }),
    ),
  )
  return { steps, hand, rxtrain: loss, hand64, adamLoss }
}

/** Tensor count and RSS over 10,000 steps of a small MLP with every writing hook on. */
const flatMemory = async (backend: Backend, arrays: data.MnistArrays, steps: number) => {
  backend.activate()
  const w: Workload = { ...mlp, batchSize: 32 }
  const dir = mkdtempSync(join(tmpdir(), 'rxtrain-bench-mem-'))
  const perEpoch = 500
  let atWarm = { tensors: 0, rss: 0 }
  let atEnd = { tensors: 0, rss: 0 }
  const before = tf.memory().numTensors
  await lastValueFrom(
    fit(moduleOf(w), { train: sourceOf(w, arrays, perEpoch) }, { maxSteps: steps, numSanityValSteps: 0, defaultRootDir: dir }, { backend }).pipe(
      checkpoint({ saveLast: true }),
      csvLogger(),
      tensorboard(),
      tap((e) => {
        if (e.type === 'trainStep' && e.globalStep === perEpoch) atWarm = { tensors: tf.memory().numTensors, rss: rssMb() }
        if (e.type === 'trainStep' && e.globalStep === steps) atEnd = { tensors: tf.memory().numTensors, rss: rssMb() }
      }),
    ),
  )
  rmSync(dir, { recursive: true, force: true })
  return { steps, tensorGrowth: atEnd.tensors - atWarm.tensors, rssGrowthMb: atEnd.rss - atWarm.rss, leftAfter: tf.memory().numTensors - before }
}

/** Data-parallel training with the same global batches as (c): each of 2 ranks takes half. */
const ddpSplit = async (w: Workload, backend: Backend, arrays: data.MnistArrays, steps: number, reps: number, epochs: number) => {
  backend.activate()
  await rxtrainRun(w, backend, arrays, 3, 'ddpSplit')
  const split: number[] = []
  const single: number[] = []
  for (let r = 0; r < reps; r++) {
    single.push((await rxtrainRun(w, backend, arrays, steps, 'plain')).steadySamplesPerSecond)
    split.push((await rxtrainRun(w, backend, arrays, steps, 'ddpSplit', epochs)).steadySamplesPerSecond)
  }
  return { workload: w.name, batch: w.batchSize, single: median(single), split: median(split) }
}

const firstStep = (): { processStartToFirstStepMs: number; dataLoadMs: number } => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'firstStep.ts')], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1) as string)
}

/**
 * (a) hand loop, (b) layers, (c) rxtrain, (o) rxtrain with Adam op by op, (d) with hooks, (e) ddp,
 * (g) the step's five matrix products alone (operands reused), (f) the same with fresh operands.
 */
type Method = 'a' | 'b' | 'c' | 'o' | 'd' | 'e' | 'g' | 'f'

/** tfjs-backend-wasm's own matrix product (XNNPACK, not rxtrain's kernel), which the GEMM floor runs. */
const floorMatMul: MatMul = xnnpackBatchMatMul

const variantOf = (m: 'c' | 'o' | 'd' | 'e'): Variant => (m === 'c' ? 'plain' : m === 'o' ? 'plainOps' : m === 'd' ? 'hooks' : 'ddp')

/**
 * Row `r` of a Williams design for `n` methods (indices): 0, 1, n-1, 2, n-2, ... shifted by `r`.
 * Rows 0 to n-1, each run forwards and then backwards, put every ordered pair of methods next to
 * each other exactly twice (for odd n the backward runs are what balances it).
 */
const williamsRow = (n: number, r: number): number[] =>
  Array.from({ length: n }, (_, k) => ((k === 0 ? 0 : k % 2 === 1 ? (k + 1) / 2 : n - k / 2) + r) % n)

const fmt = (x: number | undefined, digits = 0): string => (x === undefined ? 'n/a' : x.toFixed(digits))
/** A ratio three ways: of the medians, paired, of the fastest runs. */
const three = (m: number | undefined, p: number | undefined, f: number | undefined): string => [m, p, f].map((x) => fmt(x, 2)).join(' · ')
const of = (x: number | undefined, y: number | undefined): number | undefined => (x === undefined || y === undefined ? undefined : x / y)
const ratio = (x: number | undefined, y: number | undefined): string => (x === undefined || y === undefined ? 'n/a' : (x / y).toFixed(2))

/** Passes of an MLP DDP run: long enough that its steady state comes after its threads' warm-up. */
const MLP_DDP_EPOCHS = 4

const main = async (): Promise<void> => {
  const startRss = rssMb()
  const arrays = unwrap(await data.loadMnistPackage(effects.nodeFileSystem)())
  const cpu = unwrap(await startBackend('cpu')())
  const wasm = unwrap(await startBackend('wasm')())
  const reps = quick ? 2 : 5
  const rows: Row[] = []
  // Repetitions: a multiple of the methods timed (b runs apart), so that the order is balanced.
  // (e) on the MLP runs 4 passes over its 200 batches (about 6 s): new worker threads run their
  // first few hundred MLP steps slower, and its steady state is timed after its first quarter.
  rows.push(await measure(mlp, wasm, arrays, quick ? 30 : 200, quick ? reps : 14, ['a', 'b', 'c', 'o', 'd', 'e', 'g', 'f'], undefined, MLP_DDP_EPOCHS))
  rows.push(await measure(mlp, cpu, arrays, quick ? 5 : 20, quick ? 1 : 8, ['a', 'b', 'c', 'o', 'd']))
  rows.push(await measure(cnn, wasm, arrays, quick ? 5 : 30, quick ? 1 : 5, ['a', 'b', 'c', 'o', 'd', 'e']))
  // The cpu backend takes about a minute per CNN step: one step, no warm-up.
  rows.push(await measure(cnn, cpu, arrays, 1, 1, ['c'], 0))
  const splits = [await ddpSplit(mlp, wasm, arrays, quick ? 30 : 200, reps, MLP_DDP_EPOCHS), await ddpSplit(cnn, wasm, arrays, quick ? 5 : 30, quick ? 1 : 3, 1)]
  const same = await sameLoop(mlp, wasm, arrays, quick ? 30 : 150)
  const memory = await flatMemory(wasm, arrays, quick ? 2000 : 10_000)
  const start = firstStep()
  const endRss = rssMb()

  const lines = [
    `# rxtrain benchmark`,
    '',
    `${new Date().toISOString().slice(0, 10)} · Node ${process.version} · tfjs ${tf.version_core} · ${(await import('node:os')).cpus().length} cores${quick ? ' · quick run' : ''}`,
    '',
    `Samples per second (median of repeated runs after warm-up; same data, same initial parameters). The ratios divide these medians (e/c: the steady states of (e) and (c), see (e)). Each repetition runs the methods in order, then in reverse, so a steady drift of the machine's speed weighs on every method alike; the orders are the rows of a Williams design, so over the repetitions each method directly follows each other one equally often; ${gcExposed ? 'the heap is collected before every timed run' : 'node ran without --expose-gc, so the heap was not collected between runs'}. (b) runs in a process of its own.`,
    '(a) hand-written tfjs loop (`tf.train.adam` + `minimize`, loss read every step, timed from parameter initialisation as (c) is), (b) tfjs-layers `model.fit` as tfjs ships it (own process, without rxtrain\'s wasm kernel corrections),',
    "(c) rxtrain `fit`, no hooks (Adam's fused kernel: one pass per leaf, bitwise the same numbers), (c') the same with `adam({ fused: false })`: one tfjs op per operation, the kernels `tf.train.adam` runs, so c'/a compares the loops alone,",
    '(d) rxtrain `fit` with checkpoint + CSV + TensorBoard + progress bar, (e) rxtrain `strategy: \'ddp\'` on 2 workers, each with the',
    `workload's batch size (global batches twice as big, as Lightning's per-device \`batch_size\`), steady state: from the end of the run's first quarter of steps to its last, leaving out the workers' start and warm-up (new threads run their first few hundred MLP steps slower); on the MLP it runs ${MLP_DDP_EPOCHS} passes over the 200 batches, so that its steady state begins after that warm-up; e/c compares it with (c)'s steady state, measured the same way.`,
    '',
    "| workload | backend | steps | (a) hand loop | (b) layers fit | (c) rxtrain | (c') Adam op by op | (d) + hooks | (e) ddp | c/a | c'/a | c/b | d/c | e/c | final loss a | final loss c |",
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const s = r.samplesPerSecond
      return `| ${r.workload} | ${r.backend} | ${r.steps} | ${fmt(s.a)} | ${fmt(s.b)} | ${fmt(s.c)} | ${fmt(s.o)} | ${fmt(s.d)} | ${fmt(s.e)} | ${ratio(s.c, s.a)} | ${ratio(s.o, s.a)} | ${ratio(s.c, s.b)} | ${ratio(s.d, s.c)} | ${ratio(r.steady.e, r.steady.c)} | ${r.lossA === undefined ? 'n/a' : r.lossA.toFixed(6)} | ${r.lossC === undefined ? 'n/a' : r.lossC.toFixed(6)} |`
    }),
    '',
    'The ratios three ways: of the medians (the table\'s columns), paired (the median over repetitions of the ratio within each, its two runs of each method added up) and of the fastest run of each method (a shared machine only ever slows a run down).',
    '',
    "| workload | backend | c/a: medians · paired · fastest | c'/a | d/c | e/c |",
    '|---|---|---|---|---|---|',
    ...rows
      .filter((r) => r.samplesPerSecond.a !== undefined && r.samplesPerSecond.c !== undefined)
      .map((r) => {
        const s = r.samplesPerSecond
        return `| ${r.workload} | ${r.backend} | ${three(of(s.c, s.a), r.paired.ca, r.fastest.ca)} | ${three(of(s.o, s.a), r.paired.oa, r.fastest.oa)} | ${three(of(s.d, s.c), r.paired.dc, r.fastest.dc)} | ${three(of(r.steady.e, r.steady.c), r.paired.ec, r.fastest.ec)} |`
      }),
    '',
    ...rows.filter((r) => r.layersError !== undefined).map((r) => `(b) on ${r.workload}/${r.backend}: tfjs-layers fails: ${r.layersError}`),
    '',
    "The GEMM floor: (g) the five matrix products of one MLP step alone (x·W1, h·W2, dy·W2ᵀ, hᵀ·dy, xᵀ·dh with the step's shapes, operands already transposed, nothing else), run by tfjs-backend-wasm's own kernel (XNNPACK) with the same operand tensors every step, so XNNPACK keeps their packed weights: the fastest these products run in tfjs wasm. (f) the same with a new right-hand operand every step, as in training (every weight and gradient is new after each update, and XNNPACK packs each new one again; only the products are timed). Both ran in (c)'s repetitions, in the balanced order. c/g is how close rxtrain's whole step comes to the products alone.",
    '',
    '| workload | backend | (g) GEMMs, operands reused | (f) GEMMs, fresh operands | (c) rxtrain, whole run | (c) steady | c steady/g | c steady/f | c/g: medians · paired · fastest | c/f: medians · paired · fastest |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows
      .filter((r) => r.samplesPerSecond.g !== undefined)
      .map((r) => {
        const s = r.samplesPerSecond
        return `| ${r.workload} | ${r.backend} | ${fmt(s.g)} | ${fmt(s.f)} | ${fmt(s.c)} | ${fmt(r.steady.c)} | ${ratio(r.steady.c, s.g)} | ${ratio(r.steady.c, s.f)} | ${three(of(s.c, s.g), r.paired.cg, r.fastest.cg)} | ${three(of(s.c, s.f), r.paired.cf, r.fastest.cf)} |`
      }),
    '',
    "(c)'s steady state (from the end of its first quarter of steps, as for (e)) is the per-step rate that the products' rate compares with: the GEMM rows have no start (no backend activation, parameter initialisation, first batches or worker thread start), which a whole (c) run pays once.",
    '',
    `Final losses of (a) and (c), largest difference over the rows: ${Math.max(...rows.map((r) => (r.lossA === undefined || r.lossC === undefined ? 0 : Math.abs(r.lossA - r.lossC)))).toExponential(1)}. Final losses of (c) and (c'): ${rows.every((r) => r.lossO === undefined || r.lossO === r.lossC) ? 'bitwise equal in every row' : 'DIFFERENT'}.`,
    '',
    `DDP (e) over its whole run, starting its worker threads and their warm-up included: ${rows
      .filter((r) => r.ddpWhole !== undefined)
      .map((r) => `${r.workload} ${fmt(r.ddpWhole?.samplesPerSecond)} samples/s over ${r.ddpWhole?.epochs} pass${r.ddpWhole?.epochs === 1 ? '' : 'es'}, ${ratio(r.ddpWhole?.samplesPerSecond, r.samplesPerSecond.c)}x (c)`)
      .join('; ')}. A short run pays more for the start: a new worker thread runs its first few hundred MLP steps slower than later ones.`,
    '',
    `CNN on wasm vs cpu (rxtrain): ${ratio(rows[2]?.samplesPerSecond.c, rows[3]?.samplesPerSecond.c)}x.`,
    '',
    'DDP with the same global batch as one device (each of 2 ranks takes half; steady state, wasm): ' +
      splits.map((s) => `${s.workload} (batch ${s.batch}) ${fmt(s.split)} vs ${fmt(s.single)} samples/s, ${ratio(s.split, s.single)}x`).join('; ') +
      '. On the MLP, halving a batch of 128 costs part of what the second core gives: a smaller step uses a core less well.',
    '',
    `Memory over ${memory.steps} steps (small MLP, wasm, checkpoint + CSV + TensorBoard): tensor count growth ${memory.tensorGrowth}, RSS growth ${memory.rssGrowthMb.toFixed(1)} MB (after a 500-step warm-up), tensors left after the run ${memory.leftAfter}.`,
    '',
    `Process start to first finished MNIST MLP step (\`node --import tsx\`, wasm): ${start.processStartToFirstStepMs.toFixed(0)} ms, MNIST loading excluded (${start.dataLoadMs.toFixed(0)} ms).`,
    '',
    `Benchmark process RSS: ${startRss.toFixed(0)} MB at start, ${endRss.toFixed(0)} MB at the end.`,
    '',
    `Same loop, exactly: with SGD, after ${same.steps} MLP steps on wasm the hand-written loop's loss is ${same.hand.toFixed(8)} and rxtrain's ${same.rxtrain.toFixed(8)} (difference ${Math.abs(same.hand - same.rxtrain).toExponential(1)}).`,
    "Adam: (c), (d) and (e) use rxtrain's `adam({ biasCorrection: 'float32' })`, which computes the bias corrections as tf.train.adam does (float32 running powers b^t), so (a) and (c) do the same arithmetic. rxtrain's default computes them in float64 (as PyTorch does); tf.train.adam's float32 powers carry a relative error up to ~3e-5 in 1 - 0.999^t.",
    `With the default, the hand-written loop with tf.train.adam's update op for op but float64 bias corrections reaches ${same.hand64.toFixed(8)} after ${same.steps} steps, rxtrain ${same.adamLoss.toFixed(8)} (difference ${Math.abs(same.hand64 - same.adamLoss).toExponential(1)}).`,
  ]
  const report = `${lines.join('\n')}\n`
  process.stdout.write(report)
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results', quick ? 'quick.md' : 'latest.md'), report)
}

await main()
process.exit(0)
