// The GPU check's measurement: the benchmark's MLP and CNN (bench/workloads.ts, variant (c):
// rxtrain `fit`, no hooks) and two larger ones (the MLP at batch 1024, the CNN with 4x the
// filters) on `webgpu` and on `wasm`, samples/s and final losses, next to PyTorch on the same card
// when bench/gpu/run.sh could run bench/gpu/torchBench.py. Plain ESM so that a bare Node runs it;
// run.sh sets RXTRAIN_DIR (the unpacked dist + node_modules) and MNIST_DIR (the carried IDX files).
//
// Env: RXTRAIN_DIR, MNIST_DIR (required); RXGPU_REQUIRE_HARDWARE=1 fails on a software adapter;
// RXGPU_QUICK=1 runs a few steps of each (a smoke test of the script itself); RXGPU_BUDGET_S
// (default 30) caps each measurement's timed seconds by cutting its steps (to no fewer than its
// plan's `min`); RXGPU_DEADLINE_S (default 400) skips the measurements that would start later
// than that many seconds into the run; RXGPU_WORKLOADS (default mlp,mlp1024,cnn,cnn4x) picks
// workloads; RXGPU_TORCH_JSON names torchBench.py's results, RXGPU_TORCH_SKIPPED says why there
// are none.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const rx = await import(pathToFileURL(join(process.env.RXTRAIN_DIR ?? '.', 'dist', 'index.js')).href)
const { fit, defineModule, nn, optim, fromArrays } = rx
const { loadMnist } = rx.data
const { nodeFileSystem } = rx.effects
const quick = process.env.RXGPU_QUICK === '1'
const requireHardware = process.env.RXGPU_REQUIRE_HARDWARE === '1'

// ---- the benchmark's workloads (copied from bench/workloads.ts), and two larger ones ----
const mlpNet = nn.sequential(nn.dense({ units: 256, activation: 'relu' }), nn.dense({ units: 10 }))
const cnnNet = (f1, f2) =>
  nn.sequential(
    nn.conv2d({ filters: f1, kernelSize: 3, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2 }),
    nn.conv2d({ filters: f2, kernelSize: 3, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2 }),
    nn.flatten(),
    nn.dense({ units: 10 }),
  )
// The names are torchBench.py's (WORKLOADS there builds the same shapes in PyTorch).
const workloads = [
  { name: 'mlp', net: mlpNet, inputShape: [784], batchSize: 128, lr: 1e-3 },
  { name: 'mlp1024', net: mlpNet, inputShape: [784], batchSize: 1024, lr: 1e-3 },
  { name: 'cnn', net: cnnNet(32, 64), inputShape: [28, 28, 1], batchSize: 64, lr: 1e-3 },
  { name: 'cnn4x', net: cnnNet(128, 256), inputShape: [28, 28, 1], batchSize: 64, lr: 1e-3 },
]
const moduleOf = (w) =>
  defineModule({
    init: (key) => w.net.init(key, w.inputShape),
    trainingStep: (model, batch, ctx) => {
      const loss = nn.softmaxCrossEntropy(w.net.apply(model, batch.x, ctx).y, batch.y)
      return { loss, logs: { 'train/loss': loss } }
    },
    optimizer: optim.adam({ lr: w.lr }),
  })
// The first batches of the carried digits in natural order (the same batches on every backend),
// cycled over when the steps need more than the slice holds (`maxSteps` across epochs).
const sourceOf = (w, arrays, steps) => {
  const batches = Math.min(steps, Math.floor(arrays.train.count / w.batchSize))
  return fromArrays(
    {
      x: { data: arrays.train.images.subarray(0, batches * w.batchSize * 784), shape: [...w.inputShape], scale: 1 / 255 },
      y: { data: arrays.train.labels.subarray(0, batches * w.batchSize), shape: [], dtype: 'int32' },
    },
    { batchSize: w.batchSize },
  )
}
const epochsFor = (w, arrays, steps) => Math.ceil(steps / Math.floor(arrays.train.count / w.batchSize))

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
    fit(moduleOf(w), { train: sourceOf(w, arrays, steps) }, { maxEpochs: epochsFor(w, arrays, steps), maxSteps: steps, numSanityValSteps: 0, defaultRootDir: dir, accelerator }).subscribe({
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
 * or fewer steps (at least `min`) where the warm-up's speed says they would overrun `budget`
 * (its steady speed, or with a 1-step warm-up its whole fit, which overestimates a step).
 */
const measure = async (w, accelerator, arrays, { warm, steps, reps, min }) => {
  let planned = steps
  if (warm > 0) {
    const warmRun = await runFit(w, accelerator, arrays, warm)
    const perStep = Number.isFinite(warmRun.steady) ? w.batchSize / warmRun.steady : warmRun.seconds / warm
    if (Number.isFinite(perStep) && perStep * steps * reps > budget) planned = Math.min(steps, Math.max(min, Math.floor(budget / (perStep * reps))))
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

/** torchBench.py's results by workload, or why there are none. */
const torchResults = () => {
  const file = process.env.RXGPU_TORCH_JSON
  if (file === undefined || file === '') return { why: process.env.RXGPU_TORCH_SKIPPED || 'not run', byName: new Map() }
  try {
    const j = JSON.parse(readFileSync(file, 'utf8'))
    return { description: j.description, device: j.device, byName: new Map(j.results.map((r) => [r.workload, r])) }
  } catch (e) {
    return { why: `could not read ${file}: ${e?.message ?? e}`, byName: new Map() }
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a')
const line = (s) => process.stdout.write(`${s}\n`)

const t0Run = performance.now()
const main = async () => {
  const loaded = await loadMnist(nodeFileSystem, process.env.MNIST_DIR)()
  if (loaded._tag === 'Left') throw new Error(`MNIST: ${loaded.left.message}`)
  const arrays = loaded.right

  // 1. WebGPU first: a failure costs seconds, not the wasm runs.
  let probe
  try {
    probe = await runFit(workloads[0], 'webgpu', arrays, 2)
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

  // 2. Steps. On a hardware adapter 100 timed steps x 3 of each (torchBench.py's PLAN runs the
  // same), wasm fewer where a step is long (RXGPU_BUDGET_S cuts them further). A software adapter
  // is slow (seconds per CNN step), so it runs fewer.
  const hw = { warm: 5, steps: 100, reps: 3, min: 10 }
  const plans = {
    quick: { webgpu: { mlp: { warm: 1, steps: 3, reps: 1, min: 2 }, mlp1024: { warm: 1, steps: 2, reps: 1, min: 2 }, cnn: { warm: 1, steps: 2, reps: 1, min: 2 }, cnn4x: { warm: 1, steps: 2, reps: 1, min: 2 } } },
    software: {
      mlp: { warm: 3, steps: 30, reps: 1, min: 10 },
      mlp1024: { warm: 2, steps: 10, reps: 1, min: 3 },
      cnn: { warm: 2, steps: 10, reps: 1, min: 3 },
      cnn4x: { warm: 1, steps: 3, reps: 1, min: 2 },
    },
    hardware: { mlp: hw, mlp1024: hw, cnn: { ...hw, warm: 3 }, cnn4x: { ...hw, warm: 3 } },
    wasm: {
      mlp: { warm: 5, steps: 100, reps: 3, min: 10 },
      mlp1024: { warm: 2, steps: 30, reps: 3, min: 5 },
      cnn: { warm: 2, steps: 30, reps: 3, min: 10 },
      cnn4x: { warm: 1, steps: 10, reps: 1, min: 3 },
    },
  }
  plans.quick.wasm = plans.quick.webgpu
  const plan = quick ? plans.quick : { webgpu: software ? plans.software : plans.hardware, wasm: plans.wasm }
  if (software && !quick) line('  (software adapter: webgpu runs 3 to 30 timed steps, 1 repetition, instead of 100 x 3)')

  const wanted = (process.env.RXGPU_WORKLOADS ?? workloads.map((w) => w.name).join(',')).split(',')
  const deadline = Number(process.env.RXGPU_DEADLINE_S ?? 400)
  const results = []
  for (const w of workloads.filter((x) => wanted.includes(x.name))) {
    const row = { w }
    for (const accelerator of ['webgpu', 'wasm']) {
      const p = plan[accelerator][w.name]
      const elapsed = (performance.now() - t0Run) / 1000
      if (elapsed > deadline) {
        line(`${w.name.padEnd(7)} ${accelerator.padEnd(6)} skipped: ${elapsed.toFixed(0)} s into the run, past RXGPU_DEADLINE_S=${deadline}`)
        continue
      }
      const t0 = performance.now()
      row[accelerator] = await measure(w, accelerator, arrays, p)
      const r = row[accelerator]
      line(
        `${w.name.padEnd(7)} ${accelerator.padEnd(6)} ${String(r.steps).padStart(3)} steps${r.cut ? ` (cut from ${p.steps}: ${budget} s budget)` : ''} x ${r.reps}: ${fmt(r.samplesPerSecond).padStart(7)} samples/s (steady ${fmt(r.steady)}), final loss ${fmt(r.losses.at(-1), 6)}  [${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.choice.description}]`,
      )
    }
    results.push(row)
  }

  // 3. Summary: the ratios to wasm and to PyTorch, then the details (steady speeds, and the losses
  // at the same step: same data, same initial parameters on both rxtrain backends).
  const torch = torchResults()
  const sps = (r) => r?.samplesPerSecond ?? Number.NaN
  line('')
  line(`| workload | batch | rxtrain webgpu samples/s | rxtrain wasm samples/s | torch ${torch.device ?? 'cuda'} samples/s | webgpu/wasm | webgpu/torch |`)
  line('|---|---|---|---|---|---|---|')
  for (const { w, webgpu, wasm } of results) {
    const t = torch.byName.get(w.name)
    line(`| ${w.name} | ${w.batchSize} | ${fmt(sps(webgpu))} | ${fmt(sps(wasm))} | ${fmt(sps(t))} | ${fmt(sps(webgpu) / sps(wasm), 2)} | ${fmt(sps(webgpu) / sps(t), 2)} |`)
  }
  line('')
  line(`| workload | webgpu steps x reps | wasm steps x reps | torch steps x reps | webgpu steady | wasm steady | loss webgpu | loss wasm (same step) | loss torch (own init) |`)
  line('|---|---|---|---|---|---|---|---|---|')
  for (const { w, webgpu, wasm } of results) {
    const t = torch.byName.get(w.name)
    const n = Math.min(webgpu?.losses.length ?? 0, wasm?.losses.length ?? 0)
    const sr = (r) => (r === undefined ? 'n/a' : `${r.steps} x ${r.reps}`)
    line(
      `| ${w.name} | ${sr(webgpu)} | ${sr(wasm)} | ${sr(t)} | ${fmt(webgpu?.steady)} | ${fmt(wasm?.steady)} | ${n > 0 ? `${fmt(webgpu.losses[n - 1], 6)} (step ${n})` : 'n/a'} | ${n > 0 ? fmt(wasm.losses[n - 1], 6) : 'n/a'} | ${fmt(t?.finalLoss, 6)} |`,
    )
  }
  line('')
  line(`samples/s: rxtrain, whole fit (subscribe to complete, median of repetitions after a warm-up fit); steady: first finished step to last.`)
  line(
    torch.description === undefined
      ? `torch: skipped (${torch.why})`
      : `torch: ${torch.description}; timed steps between two device synchronisations, median of repetitions after warm-up steps, the loss read once at the end (see torchBench.py).`,
  )
  line(`webgpu adapter: ${choice.description}${software ? ' [SOFTWARE]' : ' [HARDWARE]'}`)
  return 0
}

const code = await main().catch((e) => {
  line(`FAIL: ${e?.stack ?? e}`)
  return 1
})
process.exit(code)
