/**
 * What `fit`'s loop costs on top of the step it runs, on the wasm MLP of `npm run bench` (c):
 * `node --expose-gc --import tsx bench/loopOverhead.ts [--steps N] [--reps R]`.
 *
 * In one process, interleaved (each repetition runs the variants forwards, then backwards), the
 * heap collected before every run:
 * - (g) the GEMM floor: the five matrix products of one step alone (bench/gemmFloor.ts, XNNPACK, operands reused);
 * - (s0) the exported `trainStep` in a plain loop over the same batches as (c), made as tensors before the timing;
 * - (s) the same loop pulling its batches from the same source as (c) (`fromArrays`, `workers: 1`) as it goes;
 * - (c) `fit` exactly as bench/main.ts runs method c (its module, source and options).
 * Every loop reads the loss back each step, as `fit` does. Prints ms per step (medians; (s) and
 * (c) from the end of their first quarter of steps, as main.ts times (c) steady), the ratios
 * s/g, c/g, c/s (paired: per repetition, then the median), and the final losses, which must be
 * bitwise equal between (s0), (s) and (c).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { type Backend, data, effects, fit, foldIn, key, optim, split, startBackend, tidy, trainStep } from '../src/index.js'
import { xnnpackBatchMatMul } from '../src/backends/wasmGemm.js'
import { gemmFloorSeconds } from './gemmFloor.js'
import { type Batch, mlp, moduleOf, sourceOf } from './workloads.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : Number(process.argv[i + 1])
}
const steps = arg('--steps', 200)
const reps = arg('--reps', 5)
const w = mlp
const steadyFrom = Math.max(1, Math.floor(steps / 4))

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.()
const unwrap = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw e.left
  return e.right
}

/** A run's steady ms per step (from the end of step `steadyFrom` to the last) and final loss. */
interface Timed {
  readonly ms: number
  readonly loss: number
}

/** (c): `fit` as bench/main.ts's `rxtrainRun(w, backend, arrays, steps, 'plain')` runs it. */
const fitRun = async (backend: Backend, arrays: data.MnistArrays): Promise<Timed> => {
  const dir = mkdtempSync(join(tmpdir(), 'rxtrain-loop-'))
  let loss = Number.NaN
  let first = 0
  let last = 0
  await lastValueFrom(
    fit(moduleOf(w, 'adam'), { train: sourceOf(w, arrays, steps) }, { maxEpochs: 1, numSanityValSteps: 0, defaultRootDir: dir }, { backend }).pipe(
      tap((e) => {
        if (e.type !== 'trainStep') return
        loss = e.loss
        last = performance.now()
        if (e.globalStep === steadyFrom) first = last
      }),
    ),
  )
  rmSync(dir, { recursive: true, force: true })
  return { ms: (last - first) / (steps - steadyFrom), loss }
}

/**
 * (s0)/(s): the exported step (`trainStep` with the run's fused Adam, as `fit` builds it) in a
 * plain loop, the loss read back each step, the previous generation released. `prebuilt`: the
 * batches are made before the timing (s0); else pulled from the source as the loop goes (s).
 */
const plainRun = (backend: Backend, arrays: data.MnistArrays, prebuilt: readonly Batch[] | undefined): Timed => {
  const module = moduleOf(w, 'adam')
  const step = trainStep(module, optim.withUpdateContext(module.optimizer, backend))
  const seed = 0
  const [initKey, , stepKey] = split(key(seed), 4)
  let state = tidy(() => step.init(module.init(initKey)))
  const it = prebuilt === undefined ? sourceOf(w, arrays, steps).open({ key: key(0), noShuffle: true }) : undefined
  let loss = Number.NaN
  let first = 0
  for (let b = 0; b < steps; b++) {
    const batch = prebuilt?.[b] ?? ((it?.next() as IteratorResult<Batch, undefined>).value as Batch)
    const ctx = { stage: 'train' as const, training: true, key: foldIn(foldIn(stepKey, 0), b), epoch: 0, batchIdx: b, globalStep: b, lossScale: undefined, optimizerStep: true }
    const out = backend.scoped(() => step(state, batch, ctx))
    loss = backend.readScalars([out.loss])[0] as number
    out.loss.dispose()
    backend.release(state, out.state)
    backend.release(batch, [])
    state = out.state
    if (b + 1 === steadyFrom) first = performance.now()
  }
  const ms = (performance.now() - first) / (steps - steadyFrom)
  it?.close()
  backend.dispose(state)
  return { ms, loss }
}

/** The source's batches, as tensors, before any timing (for s0). */
const buildBatches = (arrays: data.MnistArrays): Batch[] => {
  const it = sourceOf(w, arrays, steps).open({ key: key(0), noShuffle: true })
  const out: Batch[] = []
  for (let b = 0; b < steps; b++) out.push((it.next() as IteratorResult<Batch, undefined>).value as Batch)
  it.close()
  return out
}

type Variant = 'g' | 's0' | 's' | 'c'

const main = async (): Promise<void> => {
  const arrays = unwrap(await data.loadMnistPackage(effects.nodeFileSystem)())
  const backend = unwrap(await startBackend('wasm')())
  backend.activate()
  const variants: readonly Variant[] = ['g', 's0', 's', 'c']
  const ms: Record<Variant, number[]> = { g: [], s0: [], s: [], c: [] }
  const losses: Record<Variant, number> = { g: Number.NaN, s0: Number.NaN, s: Number.NaN, c: Number.NaN }
  const once = async (v: Variant): Promise<Timed> => {
    if (v === 'g') return { ms: (gemmFloorSeconds(w, steps, 'reused', xnnpackBatchMatMul) * 1000) / steps, loss: Number.NaN }
    if (v === 'c') return fitRun(backend, arrays)
    if (v === 's') return plainRun(backend, arrays, undefined)
    const batches = buildBatches(arrays)
    try {
      return plainRun(backend, arrays, batches)
    } finally {
      for (const b of batches) backend.release(b, [])
    }
  }
  // warm-up (not counted)
  for (const v of variants) await once(v)
  for (let r = 0; r < reps; r++) {
    const order = [...variants.slice(r % variants.length), ...variants.slice(0, r % variants.length)]
    for (const v of [...order, ...[...order].reverse()]) {
      collectGarbage()
      const t = await once(v)
      ms[v].push(t.ms)
      losses[v] = t.loss
    }
  }
  // per repetition: the sum of a variant's two runs
  const perRep = (v: Variant) => Array.from({ length: reps }, (_, i) => (ms[v][2 * i] as number) + (ms[v][2 * i + 1] as number))
  const paired = (x: Variant, y: Variant) => median(perRep(x).map((t, i) => t / (perRep(y)[i] as number)))
  const lines = [
    `wasm MLP ${w.inputShape[0]}-256-10, batch ${w.batchSize}, ${steps} steps a run, ${reps} repetitions (each variant twice per repetition)`,
    ...variants.map((v) => `  (${v}) ${median(ms[v]).toFixed(3)} ms/step (min ${Math.min(...ms[v]).toFixed(3)})`),
    `  paired ratios: s0/g ${paired('s0', 'g').toFixed(3)}  s/g ${paired('s', 'g').toFixed(3)}  c/g ${paired('c', 'g').toFixed(3)}  c/s ${paired('c', 's').toFixed(3)}  c/s0 ${paired('c', 's0').toFixed(3)}  s/s0 ${paired('s', 's0').toFixed(3)}`,
    `  overhead of fit over the plain loop (c - s, medians): ${(median(ms.c) - median(ms.s)).toFixed(3)} ms/step; over the step alone (c - s0): ${(median(ms.c) - median(ms.s0)).toFixed(3)} ms/step`,
    `  final losses: s0 ${losses.s0}  s ${losses.s}  c ${losses.c}  ${losses.s0 === losses.c && losses.s === losses.c ? '(bitwise equal)' : 'DIFFERENT'}`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

await main()
process.exit(0)
