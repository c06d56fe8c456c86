// Probe (issue 19, point 1): can tfjs-backend-wasm's threaded SIMD build run XNNPACK's threads in
// Node 20, and what does a training step gain from a second core? Run: npx tsx bench/threads.ts
// [rounds] (default 12; about 3 minutes). Findings: bench/results/threads.md.
//
// tfjs has one engine per process, so every variant runs in a child process of its own
// (`--child <variant>`). All four start and warm up, then the parent asks each in turn for a short
// block of steps (ABCD, then DCBA, ...), so that a drifting machine weighs on all alike and the
// ratios can be taken within a round. Variants:
//   simd       rxtrain's wasm backend as shipped: tfjs-backend-wasm-simd.wasm, 1 thread, fused Adam
//   simd-ops   the same, Adam op by op (what the threaded build falls back to: see below)
//   threads-1  tfjs-backend-wasm-threaded-simd.wasm with a pool of 1 thread
//   threads-2  the same with 2 threads
// Every variant runs the same steps on the same batch from the same initial parameters (the bench's
// MLP and CNN, trainStep called directly as fit does); the final losses are printed so that one sees
// whether the threads change the numbers.
//
// What the threaded build needs in Node, none of which tfjs 4.22 does by itself (hence `enableThreads`):
// 1. The flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false in Node (tf-backend-wasm.node.js,
//    its registerFlag: "TODO(annxingyuan): Enable node support once this is resolved: tfjs#3830");
//    set it to true after importing the package and before starting the backend.
// 2. tfjs's locateFile hands emscripten a `blob:nodedata:` URL for the pthread worker script, and
//    Node's worker_threads.Worker takes only file paths: "TypeError [ERR_WORKER_PATH]: The worker
//    script or module filename must be an absolute path or a relative path starting with './' or
//    '../'. Received "blob:nodedata:..."" (thrown in PThread.allocateUnusedWorker, caught by
//    tf.setBackend, which then answers false). Here: URL.createObjectURL answers the path of a
//    small CommonJS worker script for that Blob; in the worker, the main script (also a Blob, which
//    the worker would turn into a blob: URL and fail to read) is replaced by wasm-out/'s copy of it.
// 3. tfjs caps the pool at emscripten_num_logical_cores() / 2 (src/cc/backend.cc: "Many x86-64
//    processors have 2 threads per core"), i.e. 1 thread on a 2-vCPU machine whatever
//    setThreadsCount asks. Here os.cpus() is padded so that the cap is the requested count.
// 4. The threaded build's memory is a shared WebAssembly.Memory that the module imports (the glue's
//    `wasmMemory`), not `wasm.asm.memory`: rxtrain's own kernels that work in the backend's memory
//    (the fused Adam of src/backends/wasmAdam.ts, the GEMM of src/backends/wasmGemm.ts) find no
//    memory they can use, and the backend falls back to tfjs's kernels (XNNPACK's GEMM, Adam op by
//    op). Their modules declare an unshared imported memory; a shared one needs a second binary.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { type Backend, foldIn, key, optim, startBackend, tidy, trainStep } from '../src/index.js'
import { cnn, mlp, moduleOf, type Workload } from './workloads.js'

const variants = ['simd', 'simd-ops', 'threads-1', 'threads-2'] as const
type Variant = (typeof variants)[number]
/** Warm-up steps, and steps per timed block (a CNN step on one wasm thread takes ~0.2-0.3 s). */
const plan = { mlp: { warm: 200, block: 100 }, cnn: { warm: 3, block: 4 } } as const

/** What a child says once it is warm. */
interface ChildReady {
  readonly variant: Variant
  readonly description: string
  readonly threads: number
  readonly sharedMemory: boolean
  /** rxtrain's own kernels (`Rxtrain*`) that one MLP step ran. */
  readonly rxtrainKernels: readonly string[]
  /** Whether rxtrain's kernels that work in the backend's memory can (`wasm.asm.memory`, unshared): the GEMM, the fused Adam. */
  readonly ownMemory: boolean
}

/** The pthread worker script: tfjs's own worker code, with blob: URLs turned into wasm-out's main script. */
const workerScript = (wasmOut: string): string => `
const path = require('path')
const main = ${JSON.stringify(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'))}
URL.createObjectURL = () => main
const { wasmWorkerContents } = require(${JSON.stringify(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'))})
// The text comes from a template literal, whose \\n escapes became newlines inside string literals.
new Function('require', '__filename', wasmWorkerContents.replace(/\\n/g, '\\\\n'))(require, main)
`

/** Makes tfjs-backend-wasm start its threaded build with `threads` threads (call before starting the backend). */
const enableThreads = async (threads: number): Promise<() => void> => {
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const require = createRequire(import.meta.url)
  const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out')
  const dir = mkdtempSync(join(os.tmpdir(), 'rxtrain-threads-'))
  const script = join(dir, 'pthread-worker.cjs')
  writeFileSync(script, workerScript(wasmOut))
  const createObjectURL = URL.createObjectURL.bind(URL)
  URL.createObjectURL = (blob: Blob) => (blob.type === 'application/javascript' ? script : createObjectURL(blob))
  const cpus = os.cpus.bind(os)
  os.cpus = () => {
    const real = cpus()
    return Array.from({ length: Math.max(real.length, 2 * threads) }, (_, i) => real[i % real.length] as os.CpuInfo)
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true)
  wasm.setThreadsCount(threads)
  return () => rmSync(dir, { recursive: true, force: true })
}

/** Deterministic inputs (an LCG), the same in every child. */
const batchOf = (w: Workload): { x: tf.Tensor; y: tf.Tensor } => {
  let s = 12345
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32)
  const n = w.batchSize * w.inputShape.reduce((a, b) => a * b, 1)
  return {
    x: tf.tensor(Float32Array.from({ length: n }, next), [w.batchSize, ...w.inputShape]),
    y: tf.tensor1d(Int32Array.from({ length: w.batchSize }, () => Math.floor(next() * 10)), 'int32'),
  }
}

/** One workload set up in a child: its step, state and batch, run `n` steps at a time. */
const workloadRunner = (w: Workload, variant: Variant, backend: Backend) => {
  const module = moduleOf(w, variant === 'simd-ops' ? 'adamOps' : 'adam')
  const step = trainStep(module, optim.withUpdateContext(module.optimizer, backend))
  let state = tidy(() => step.init(module.init(key(0))))
  const batch = batchOf(w)
  let loss = Number.NaN
  let i = 0
  const one = (): void => {
    const ctx = { stage: 'train' as const, training: true, key: foldIn(key(1), i), epoch: 0, batchIdx: i, globalStep: i, lossScale: undefined }
    i++
    const out = tidy(() => step(state, batch, ctx))
    loss = out.loss.dataSync()[0] as number
    backend.release(state, out.state)
    out.loss.dispose()
    backend.dispose(out.logs)
    state = out.state
  }
  /** Runs `n` steps; answers ms per step and the last loss. */
  return (n: number): { msPerStep: number; loss: number; steps: number } => {
    const t0 = performance.now()
    for (let k = 0; k < n; k++) one()
    return { msPerStep: (performance.now() - t0) / n, loss, steps: i }
  }
}

/**
 * A child: starts its backend, warms both workloads up, says `ready` (with what it runs on), then
 * runs blocks of steps on request (`<workload> <steps>` on stdin, one JSON line back per block),
 * so that the parent can alternate short blocks of every variant while all of them stay warm.
 */
const child = async (variant: Variant): Promise<void> => {
  const threads = variant === 'threads-1' ? 1 : variant === 'threads-2' ? 2 : 0
  const cleanup = threads > 0 ? await enableThreads(threads) : () => {}
  const started = await startBackend('wasm')()
  if (started._tag === 'Left') throw new Error(started.left.message)
  const backend = started.right
  backend.activate()
  const engine = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array; asm?: { memory?: { buffer: ArrayBufferLike } } } }
  const wasmModule = await import('@tensorflow/tfjs-backend-wasm')
  const runners = { mlp: workloadRunner(mlp, variant, backend), cnn: workloadRunner(cnn, variant, backend) }
  runners.mlp(plan.mlp.warm)
  runners.cnn(plan.cnn.warm)
  const profile = await tf.profile(() => runners.mlp(1))
  const ready: ChildReady = {
    variant,
    description: backend.description,
    threads: wasmModule.getThreadsCount(),
    sharedMemory: engine.wasm.HEAPU8.buffer instanceof SharedArrayBuffer,
    rxtrainKernels: [...new Set(profile.kernelNames.filter((n) => n.startsWith('Rxtrain')))],
    ownMemory: engine.wasm.asm?.memory !== undefined && !(engine.wasm.asm.memory.buffer instanceof SharedArrayBuffer),
  }
  const send = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`)
  send(ready)
  for await (const text of createInterface({ input: process.stdin })) {
    const [name, n] = text.split(' ')
    if (name !== 'mlp' && name !== 'cnn') break
    send({ ...runners[name](Number(n)), load: os.loadavg()[0] })
  }
  cleanup()
  // The pthread pool's workers keep the event loop alive.
  process.exit(0)
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** A child process and a way to ask it for one line. */
const spawnChild = (variant: Variant) => {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', variant], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  const next = async <T>(): Promise<T> => {
    const r = await lines.next()
    if (r.done === true) throw new Error(`the ${variant} child ended early`)
    return JSON.parse(r.value as string) as T
  }
  return {
    next,
    ask: <T>(command: string): Promise<T> => {
      proc.stdin.write(`${command}\n`)
      return next<T>()
    },
    end: () => proc.stdin.end(),
  }
}

const parent = async (rounds: number): Promise<void> => {
  const children = new Map(variants.map((v) => [v, spawnChild(v)]))
  const ready = new Map<Variant, ChildReady>()
  for (const [v, c] of children) ready.set(v, await c.next<ChildReady>())
  type Block = { msPerStep: number; loss: number; steps: number; load: number }
  const blocks = new Map<string, Block[]>()
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse()
    for (const w of ['mlp', 'cnn'] as const) {
      for (const v of order) {
        const b = await (children.get(v) as ReturnType<typeof spawnChild>).ask<Block>(`${w} ${plan[w].block}`)
        blocks.set(`${v} ${w}`, [...(blocks.get(`${v} ${w}`) ?? []), b])
      }
    }
    process.stderr.write(`round ${r + 1}/${rounds}: ${order.map((v) => `${v} ${(blocks.get(`${v} mlp`)?.at(-1)?.msPerStep ?? Number.NaN).toFixed(2)}/${(blocks.get(`${v} cnn`)?.at(-1)?.msPerStep ?? Number.NaN).toFixed(0)} ms`).join(', ')}\n`)
  }
  for (const c of children.values()) c.end()
  const ms = (v: Variant, w: string) => (blocks.get(`${v} ${w}`) ?? []).map((b) => b.msPerStep)
  const loads = [...blocks.values()].flat().map((b) => b.load)
  const line = (s: string) => process.stdout.write(`${s}\n`)
  line(`${os.cpus().length} logical CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, tfjs ${tf.version_core}; ${rounds} rounds of blocks (MLP ${plan.mlp.block} steps, CNN ${plan.cnn.block}), the variants alternated; 1-minute load average during the blocks ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)})`)
  line('')
  line('| variant | build | threads | shared memory | own wasm kernels usable | Rxtrain* kernels run (MLP) | MLP ms/step (median · fastest block) | MLP samples/s | CNN ms/step (median · fastest block) | CNN samples/s | final loss MLP | final loss CNN |')
  line('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const v of variants) {
    const c = ready.get(v) as ChildReady
    const cell = (w: Workload) => `${median(ms(v, w.name)).toFixed(2)} · ${Math.min(...ms(v, w.name)).toFixed(2)}`
    const sps = (w: Workload) => ((w.batchSize / median(ms(v, w.name))) * 1000).toFixed(0)
    const last = (w: string) => blocks.get(`${v} ${w}`)?.at(-1)
    const loss = (w: string) => `${last(w)?.loss.toPrecision(9) ?? 'n/a'} (step ${last(w)?.steps ?? '?'})`
    line(`| ${v} | ${c.description}${v.startsWith('threads') ? ' [threaded build]' : ''} | ${c.threads} | ${c.sharedMemory} | ${c.ownMemory} | ${c.rxtrainKernels.join(', ') || 'none'} | ${cell(mlp)} | ${sps(mlp)} | ${cell(cnn)} | ${sps(cnn)} | ${loss('mlp')} | ${loss('cnn')} |`)
  }
  line('')
  line('Speed-ups (a / b: how much faster a runs than b), paired: the median over rounds of the ratio of the two blocks of the same round; then the ratio of the fastest blocks.')
  line('')
  const pairs: readonly (readonly [Variant, Variant, string])[] = [
    ['threads-2', 'threads-1', 'the second thread, threaded build'],
    ['threads-2', 'simd', 'threaded build on 2 threads against rxtrain as shipped'],
    ['simd', 'simd-ops', "the fused Adam kernel (rxtrain's GEMM in both)"],
    ['threads-1', 'simd-ops', 'threaded build on 1 thread against the unthreaded one, both Adam op by op'],
  ]
  line('| a / b | what it shows | MLP paired · fastest | CNN paired · fastest |')
  line('|---|---|---|---|')
  for (const [a, b, what] of pairs) {
    const cell = (w: string) => {
      const paired = median(ms(a, w).map((x, k) => (ms(b, w)[k] as number) / x))
      return `${paired.toFixed(2)} · ${(Math.min(...ms(b, w)) / Math.min(...ms(a, w))).toFixed(2)}`
    }
    line(`| ${a} / ${b} | ${what} | ${cell('mlp')} | ${cell('cnn')} |`)
  }
}

const args = process.argv.slice(2)
if (args[0] === '--child') await child(args[1] as Variant)
else await parent(Number(args[0] ?? 12))
