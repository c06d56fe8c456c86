// The GPU check's measurement: the benchmark's MLP and CNN (bench/workloads.ts, variant (c):
// rxtrain `fit`, no hooks) on `webgpu` and on `wasm`, samples/s and final losses. Plain ESM so that
// a bare Node runs it; bench/gpu/run.sh sets RXTRAIN_DIR (the unpacked dist + node_modules) and
// MNIST_DIR (the carried IDX files).
//
// Env: RXTRAIN_DIR, MNIST_DIR (required); RXGPU_REQUIRE_HARDWARE=1 fails on a software adapter;
// RXGPU_QUICK=1 runs a few steps of each (a smoke test of the script itself); RXGPU_BUDGET_S
// (default 30) caps each measurement's timed seconds by cutting its steps (to no fewer than 10).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const rx = await import(pathToFileURL(join(process.env.RXTRAIN_DIR ?? '.', 'dist', 'index.js')).href)
const { fit, defineModule, nn, optim, fromArrays, loadMnist, nodeFileSystem } = rx
const quick = process.env.RXGPU_QUICK === '1'
const requireHardware = process.env.RXGPU_REQUIRE_HARDWARE === '1'

// ---- the benchmark's workloads (copied from bench/workloads.ts) ----
const mlp = {
  name: 'mlp',
  net: nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 })),
  inputShape: [784],
  batchSize: 128,
  lr: 1e-3,
}
const cnn = {
  name: 'cnn',
  net: nn.sequential(
    nn.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2 }),
    nn.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2 }),
    nn.flatten(),
    nn.dense({ units: 10 }),
  ),
  inputShape: [28, 28, 1],
  batchSize: 64,
  lr: 1e-3,
}
const moduleOf = (w) =>
  defineModule({
    init: (key) => w.net.init(key, w.inputShape),
    trainingStep: (model, batch, ctx) => {
      const loss = nn.softmaxCrossEntropy(w.net.apply(model, batch.x, ctx).y, batch.y)
      return { loss, logs: { 'train/loss': loss } }
    },
    optimizer: optim.adam({ lr: w.lr }),
  })
// The first steps * batchSize digits in natural order: the same batches on every backend.
const sourceOf = (w, arrays, steps) =>
  fromArrays(
    {
      x: { data: arrays.train.images.subarray(0, steps * w.batchSize * 784), shape: [...w.inputShape], scale: 1 / 255 },
      y: { data: arrays.train.labels.subarray(0, steps * w.batchSize), shape: [], dtype: 'int32' },
    },
    { batchSize: w.batchSize },
  )

// ---- one rxtrain fit, timed as bench/main.ts's rxtrainRun ----
/** Seconds (subscribe to complete), steady samples/s (first finished step to last), losses, the accelerator choice. */
const runFit = (w, accelerator, arrays, steps) =>
  new Promise((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), 'rxgpu-'))
    const losses = []
    let choice
    let first = 0
    let last = 0
    const start = performance.now()
    fit(moduleOf(w), { train: sourceOf(w, arrays, steps) }, { maxEpochs: 1, numSanityValSteps: 0, defaultRootDir: dir, accelerator }).subscribe({
      next: (e) => {
        if (e.type === 'fitStart') choice = e.accelerator
        if (e.type !== 'trainStep') return
        losses.push(e.loss)
        last = performance.now()
        if (losses.length === 1) first = last
      },
      error: (e) => {
        rmSync(dir, { recursive: true, force: true })
        reject(e)
      },
      complete: () => {
        const seconds = (performance.now() - start) / 1000
        rmSync(dir, { recursive: true, force: true })
        const steady = steps > 1 ? ((steps - 1) * w.batchSize) / ((last - first) / 1000) : Number.NaN
        resolve({ seconds, samplesPerSecond: (steps * w.batchSize) / seconds, steady, losses, choice })
      },
    })
  })

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Seconds of timed fits per measurement at most (steps are cut to fit; warm-ups not counted). */
const budget = Number(process.env.RXGPU_BUDGET_S ?? 30)

/**
 * Warm-up (kernels compiled, caches filled; not timed), then `reps` timed fits of `steps` steps,
 * or fewer steps (at least 10) where the warm-up's steady speed says they would overrun `budget`.
 */
const measure = async (w, accelerator, arrays, { warm, steps, reps }) => {
  let planned = steps
  if (warm > 0) {
    const warmRun = await runFit(w, accelerator, arrays, warm)
    const perStep = w.batchSize / warmRun.steady
    if (Number.isFinite(perStep) && perStep * steps * reps > budget) planned = Math.min(steps, Math.max(10, Math.floor(budget / (perStep * reps))))
  }
  const runs = []
  for (let r = 0; r < reps; r++) runs.push(await runFit(w, accelerator, arrays, planned))
  const lastRun = runs.at(-1)
  return {
    steps: planned,
    cut: planned < steps,
    reps,
    samplesPerSecond: median(runs.map((r) => r.samplesPerSecond)),
    steady: median(runs.map((r) => r.steady)),
    losses: lastRun.losses,
    choice: lastRun.choice,
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a')
const line = (s) => process.stdout.write(`${s}\n`)

const main = async () => {
  const loaded = await loadMnist(nodeFileSystem, process.env.MNIST_DIR)()
  if (loaded._tag === 'Left') throw new Error(`MNIST: ${loaded.left.message}`)
  const arrays = loaded.right
  const maxSteps = (w) => Math.floor(arrays.train.count / w.batchSize)

  // 1. WebGPU first: a failure costs seconds, not the wasm runs.
  let probe
  try {
    probe = await runFit(mlp, 'webgpu', arrays, 2)
  } catch (e) {
    line(`FAIL: webgpu could not initialise: ${e?.message ?? e}`)
    return 2
  }
  const { choice } = probe
  const software = /software adapter/.test(choice.description)
  line(`webgpu adapter: ${choice.description}`)
  line(`  software adapter: ${software ? 'yes (runs on the CPU: webgpu numbers are not a GPU measurement)' : 'no (hardware)'}`)
  if (choice.skipped.length > 0) line(`  passed over: ${choice.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`)
  if (software && requireHardware) {
    line('FAIL: this machine has an NVIDIA GPU but WebGPU found only a software adapter (no Vulkan driver reached Dawn).')
    return 3
  }

  // 2. Steps: a software adapter is slow (seconds per CNN step), so it runs fewer.
  const plan = quick
    ? { webgpu: { mlp: { warm: 1, steps: 3, reps: 1 }, cnn: { warm: 1, steps: 2, reps: 1 } }, wasm: { mlp: { warm: 1, steps: 3, reps: 1 }, cnn: { warm: 1, steps: 2, reps: 1 } } }
    : {
        webgpu: software
          ? { mlp: { warm: 3, steps: 30, reps: 1 }, cnn: { warm: 2, steps: 10, reps: 1 } }
          : { mlp: { warm: 5, steps: 100, reps: 3 }, cnn: { warm: 3, steps: 100, reps: 3 } },
        wasm: { mlp: { warm: 5, steps: 100, reps: 3 }, cnn: { warm: 2, steps: 30, reps: 3 } },
      }
  if (software && !quick) line('  (software adapter: webgpu runs 30 MLP / 10 CNN timed steps, 1 repetition, instead of 100 / 100 x 3)')

  const results = []
  for (const w of [mlp, cnn]) {
    const row = { w }
    for (const accelerator of ['webgpu', 'wasm']) {
      const p = plan[accelerator][w.name]
      const steps = Math.min(p.steps, maxSteps(w))
      const t0 = performance.now()
      row[accelerator] = await measure(w, accelerator, arrays, { ...p, steps })
      const r = row[accelerator]
      line(
        `${w.name.padEnd(3)} ${accelerator.padEnd(6)} ${String(r.steps).padStart(3)} steps${r.cut ? ` (cut from ${steps}: ${budget} s budget)` : ''} x ${r.reps}: ${fmt(r.samplesPerSecond).padStart(7)} samples/s (steady ${fmt(r.steady)}), final loss ${fmt(r.losses.at(-1), 6)}  [${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.choice.description}]`,
      )
    }
    results.push(row)
  }

  // 3. Summary: the ratio, and the losses at the same step (same data, same initial parameters).
  line('')
  line(`| workload | batch | webgpu samples/s | wasm samples/s | webgpu/wasm | webgpu steady | wasm steady | steady ratio | loss webgpu | loss wasm (same step) |`)
  line('|---|---|---|---|---|---|---|---|---|---|')
  for (const { w, webgpu, wasm } of results) {
    const n = Math.min(webgpu.losses.length, wasm.losses.length)
    line(
      `| ${w.name} | ${w.batchSize} | ${fmt(webgpu.samplesPerSecond)} | ${fmt(wasm.samplesPerSecond)} | ${fmt(webgpu.samplesPerSecond / wasm.samplesPerSecond, 2)} | ${fmt(webgpu.steady)} | ${fmt(wasm.steady)} | ${fmt(webgpu.steady / wasm.steady, 2)} | ${fmt(webgpu.losses[n - 1], 6)} (step ${n}) | ${fmt(wasm.losses[n - 1], 6)} |`,
    )
  }
  line('')
  line(`samples/s: whole fit (subscribe to complete, median of repetitions after a warm-up fit); steady: first finished step to last.`)
  line(`webgpu adapter: ${choice.description}${software ? ' [SOFTWARE]' : ' [HARDWARE]'}`)
  return 0
}

const code = await main().catch((e) => {
  line(`FAIL: ${e?.stack ?? e}`)
  return 1
})
process.exit(code)
