/**
 * The page: trains the MNIST MLP in the tab on wasm (model.ts's `browserRun`), with a progress
 * bar, live loss and accuracy charts (the run report's Vega-Lite specs, drawn from the run's own
 * metrics.jsonl), a Stop button (saved as `last`), Resume after a reload, a zip of the run folder,
 * and a canvas to draw a digit on. Bundled by serve.ts; `window.rxtrainExample` is what the
 * browser tests drive.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { cloneTree, data, disposeTree, effects, type FitEvent, loadParams, type Model, progressBar, startBackend, trainedModel } from 'rxtrain'
import { browserRun, lastPointer, paramsDigest, predictDigit, RUN_DIR } from './model.js'
import { createCharts } from './charts.js'
import { createDigitPad } from './digitPad.js'
import { fromBase64, toBase64 } from './base64.js'

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`index.html has no #${id}`)
  return el as T
}
const ui = {
  status: $('status'),
  steps: $<HTMLInputElement>('steps'),
  train: $<HTMLButtonElement>('train'),
  resume: $<HTMLButtonElement>('resume'),
  stop: $<HTMLButtonElement>('stop'),
  download: $<HTMLButtonElement>('download'),
  progress: $<HTMLProgressElement>('progress'),
  bar: $('bar'),
  log: $('log'),
}

const orThrow = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const r = await task()
  if (E.isLeft(r)) throw r.left
  return r.right
}
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e))

// The run's capabilities in a page: files in the Origin Private File System (IndexedDB where it
// is missing), Stop and pagehide as interrupts, the console and the progress bar on the page.
const fs = effects.browserFileSystem()
const signals = effects.pageSignals()
// The progress bar draws live on the page's terminal (#bar); other lines go to #log and the devtools console.
const env = { fs, signals, console: effects.pageConsole(ui.log), terminal: effects.pageTerminal(ui.bar) }

/** The parameters the canvas predicts with: a copy of the latest trained (or loaded) ones. */
let current: Model | undefined
const setCurrent = (m: Model | undefined): void => {
  if (current !== undefined) disposeTree(current)
  current = m
}
let running = false

const charts = createCharts($('charts'), fs, `${RUN_DIR}/metrics.jsonl`)
const pad = createDigitPad($<HTMLCanvasElement>('canvas'), $('bars'), $<HTMLButtonElement>('clear'), (pixels) => (current === undefined ? undefined : predictDigit(current, pixels)))

const hasLast = (): Promise<boolean> => fs.exists(lastPointer())()
const refreshButtons = async (): Promise<void> => {
  ui.train.disabled = running
  ui.stop.disabled = !running
  ui.resume.disabled = running || !(await hasLast())
  ui.download.disabled = running || !(await fs.exists(RUN_DIR)())
}

/** Loads `last` (if any) for the canvas, so a reloaded page predicts before training again. */
const loadLast = async (): Promise<void> => {
  if (!(await hasLast())) return
  const loaded = await loadParams(`${RUN_DIR}/checkpoints/last`, { fs })()
  if (E.isRight(loaded)) setCurrent(loaded.right)
}

const start = async (o: { maxSteps?: number; resume?: boolean } = {}): Promise<{ reason: string; globalStep: number; digest: string }> => {
  if (running) throw new Error('a run is already training: stop it first')
  await ready
  running = true
  await refreshButtons()
  try {
    const resume = o.resume === true
    // A new run starts from an empty folder (its old checkpoints and logs would mix in otherwise).
    if (!resume) {
      await orThrow(fs.remove(RUN_DIR))
      charts.reset()
    }
    const maxSteps = o.maxSteps ?? Number(ui.steps.value)
    ui.steps.value = String(maxSteps) // a caller's limit (the window API) shows in the box
    ui.status.textContent = `${resume ? 'resuming' : 'training'} on ${backendName} up to step ${maxSteps}…`
    let end: Extract<FitEvent, { type: 'fitEnd' }> | undefined
    let sinceSnapshot = 0
    const trained = await lastValueFrom(
      browserRun(env, { arrays: await arrays, maxSteps, resume }).pipe(
        progressBar({ refreshRate: 5 }),
        tap((e) => {
          if (e.type === 'fitStart') ui.progress.max = Math.max(1, e.plan.estimatedSteppingBatches)
          if (e.type === 'trainStep') {
            ui.progress.value = e.globalStep
            // The state is borrowed (valid during this event): copy it now and then for the canvas.
            if (++sinceSnapshot >= 25) {
              sinceSnapshot = 0
              setCurrent(cloneTree({ params: e.state.params, state: e.state.state }))
              pad.refresh()
            }
          }
          if (e.type === 'trainStep' && e.shouldLog) charts.refresh()
          if (e.type === 'validationEnd') charts.refresh()
          if (e.type === 'fitEnd') end = e
        }),
        trainedModel(),
      ),
    )
    setCurrent(trained)
    pad.refresh()
    await charts.refresh(true)
    const reason = end?.reason ?? 'unknown'
    const globalStep = end?.globalStep ?? 0
    const why = end?.stopReason === 'SIGTERM' ? 'the tab was hidden or closed' : 'Stop'
    ui.status.textContent =
      reason === 'interrupted' ? `stopped at step ${globalStep} (${why}), saved as last: Resume goes on from there` : `finished (${reason}) at step ${globalStep}`
    return { reason, globalStep, digest: paramsDigest(trained.params) }
  } catch (e) {
    ui.status.textContent = `failed: ${messageOf(e)}`
    throw e
  } finally {
    running = false
    await refreshButtons()
  }
}

// Start-up: the wasm binaries from this server (no threads: no cross-origin isolation), the
// backend, MNIST from /mnist/ (fetched once).
setWasmPaths(new URL('wasm/', location.href).href)
let backendName = 'wasm'
const arrays = orThrow(data.loadMnist(effects.fetchFileSystem(new URL('mnist', location.href).href), '.'))
const ready: Promise<void> = (async () => {
  ui.status.textContent = 'loading MNIST and starting wasm…'
  const backend = await orThrow(startBackend('wasm'))
  backendName = backend.description
  const digits = await arrays
  await loadLast()
  await charts.refresh(true)
  pad.refresh()
  ui.status.textContent = `ready: ${digits.train.count} training digits, ${backendName}${current !== undefined ? '; last checkpoint loaded' : ''}`
  await refreshButtons()
})()
ready.catch((e: unknown) => {
  ui.status.textContent = `failed to start: ${messageOf(e)}`
  console.error(e)
})

const listFiles = async (dir: string): Promise<string[]> => {
  const names = await fs.list(dir)()
  if (E.isLeft(names)) return (await fs.exists(dir)()) ? [dir] : []
  const nested = await Promise.all(names.right.map((n) => listFiles(`${dir}/${n}`)))
  return nested.flat()
}

const report = (e: unknown): void => {
  ui.status.textContent = messageOf(e)
  console.error(e)
}
ui.train.addEventListener('click', () => void start({}).catch(report))
ui.resume.addEventListener('click', () => void start({ resume: true }).catch(report))
ui.stop.addEventListener('click', () => signals.raise('SIGINT'))
ui.download.addEventListener('click', () => void orThrow(effects.downloadZip(fs, RUN_DIR, 'browser-mnist.zip')).catch(report))

/** What the browser tests drive (see test/browser): the page's controls as functions. */
const api = {
  ready,
  start,
  stop: (): void => signals.raise('SIGINT'),
  digest: async (): Promise<string> => {
    await ready
    if (current === undefined) throw new Error('no parameters yet: train, or resume a run')
    return paramsDigest(current.params)
  },
  readFiles: async (dir: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {}
    for (const path of await listFiles(dir)) out[path] = toBase64(await orThrow(fs.readFile(path)))
    return out
  },
  writeFiles: async (files: Record<string, string>): Promise<void> => {
    for (const [path, b64] of Object.entries(files)) {
      const slash = path.lastIndexOf('/')
      if (slash > 0) await orThrow(fs.mkdir(path.slice(0, slash)))
      await orThrow(fs.writeFile(path, fromBase64(b64)))
    }
    await loadLast()
    await refreshButtons()
  },
  clearFiles: async (): Promise<void> => {
    for (const name of await orThrow(fs.list(''))) await orThrow(fs.remove(name))
    setCurrent(undefined)
    charts.reset()
    await refreshButtons()
  },
  predict: async (pixels: number[]): Promise<number[]> => {
    await ready
    if (current === undefined) throw new Error('no parameters yet: train, or resume a run')
    return predictDigit(current, pixels)
  },
}
declare global {
  interface Window {
    rxtrainExample: typeof api
  }
}
window.rxtrainExample = api
