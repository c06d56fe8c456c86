/**
 * The browser example (examples/browser-mnist) in headless Chromium, driven through its
 * `window.rxtrainExample` API and its real controls, against the very same run in Node:
 *
 * - the page trains on wasm with no console error, and Stop saves `last`;
 * - its parameters are bitwise those of a Node run of model.ts's `browserRun` (memory file
 *   system, wasm) stopped at the same step, and so is its checkpoint's tensors.bin;
 * - a reload finds `last` and Resume goes on from it, ending bitwise where an uninterrupted Node
 *   run ends;
 * - the browser's checkpoint resumes in Node, and Node's in the browser, bitwise;
 * - the digit pad predicts what Node predicts, bit for bit.
 *
 * Files cross between Node's memory file system and the page's OPFS as base64 (`readFiles` /
 * `writeFiles`). Screenshots of the page during training and of the digit pad are kept under
 * runs/test-artifacts/ (paths printed).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { unzipSync } from 'fflate'
import type { Page } from 'puppeteer-core'
import { lastValueFrom, tap } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromBase64, toBase64 } from '../../examples/browser-mnist/base64.js'
import { browserRun, paramsDigest, predictDigit, RUN_DIR, SAVE_EVERY_N_STEPS } from '../../examples/browser-mnist/model.js'
import { type ExampleServer, startExampleServer } from '../../examples/browser-mnist/serve.js'
import { data, disposeTree, effects, trainedModel } from '../../src/index.js'
import { useBackend } from '../support/backend.js'
import { repoRoot, withPage } from '../support/chromium.js'

/** The page's test API (examples/browser-mnist/main.ts), as far as this test uses it. */
interface ExampleApi {
  readonly ready: Promise<void>
  start(o?: { maxSteps?: number; resume?: boolean }): Promise<RunResult>
  stop(): void
  digest(): Promise<string>
  readFiles(dir: string): Promise<Record<string, string>>
  writeFiles(files: Record<string, string>): Promise<void>
  clearFiles(): Promise<void>
  predict(pixels: number[]): Promise<number[]>
}
interface RunResult {
  readonly reason: string
  readonly globalStep: number
  readonly digest: string
}
type PageWindow = { rxtrainExample: ExampleApi; pendingRun?: Promise<RunResult> }

/**
 * Steps of the whole run (one epoch of 430 batches); the page is stopped part of the way, then
 * resumed to here. Stop lands some 100-200 steps after STOP_AFTER (the charts' once-a-second
 * redraw, the screenshot), so this leaves room on a slower machine too.
 */
const STEPS = 430
/** Stop once the page has passed this step (after the first validation, at step 100). */
const STOP_AFTER = 110

const artifacts = nodePath.join(repoRoot, 'runs', 'test-artifacts')
let server: ExampleServer
let arrays: data.MnistArrays
let tensorsBefore = 0
const downloads = mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-mnist-download-'))

beforeAll(async () => {
  await useBackend('wasm')
  const loaded = await data.loadMnistPackage(effects.nodeFileSystem)()
  if (E.isLeft(loaded)) throw loaded.left
  arrays = loaded.right
  tensorsBefore = tf.memory().numTensors
  server = await startExampleServer()
  mkdirSync(artifacts, { recursive: true })
})
afterAll(async () => {
  await server?.close()
  rmSync(downloads, { recursive: true, force: true })
  // Every Node run's tensors are released (the shared full run's last).
  if (full !== undefined) disposeTree((await full).model)
  expect(tf.memory().numTensors).toBe(tensorsBefore)
})

/**
 * The page's run in Node: model.ts's `browserRun` on wasm over a memory file system (seeded with
 * `files`, base64), stopped as the page's Stop button does (SIGINT, saved as `last`) after step
 * `stopAt` if given.
 */
const nodeRun = async (o: { maxSteps: number; stopAt?: number; resume?: boolean; files?: Record<string, string> }) => {
  const fs = effects.memoryFileSystem(Object.fromEntries(Object.entries(o.files ?? {}).map(([p, b64]) => [p, fromBase64(b64)])))
  const signals = effects.manualSignals()
  let end: { reason: string; globalStep: number } | undefined
  const model = await lastValueFrom(
    browserRun({ fs, signals }, { arrays, maxSteps: o.maxSteps, ...(o.resume === true && { resume: true }) }).pipe(
      tap((e) => {
        if (e.type === 'trainStep' && e.globalStep === o.stopAt) signals.raise('SIGINT')
        if (e.type === 'fitEnd') end = e
      }),
      trainedModel(),
    ),
  )
  const files = Object.fromEntries([...fs.files].filter(([p]) => p.startsWith(`${RUN_DIR}/`)).map(([p, bytes]) => [p, toBase64(bytes)]))
  return { model, end, digest: paramsDigest(model.params), files }
}

/** The one checkpoint folder's tensors.bin among `files` (a run keeps only `last`). */
const tensorsOf = (files: Record<string, string>): string => {
  const found = Object.entries(files).filter(([p]) => p.startsWith(`${RUN_DIR}/checkpoints/`) && p.endsWith('/tensors.bin'))
  expect(found.map(([p]) => p)).toHaveLength(1)
  return (found[0] as [string, string])[1]
}

/**
 * Runs `f` in the page on its `window.rxtrainExample`: puppeteer sends `f`'s source (so `f` may use
 * only its arguments, nothing imported) and `arg` as JSON.
 */
const inPage =
  (page: Page) =>
  <A, T = undefined>(f: (x: ExampleApi, arg: T, w: PageWindow) => A | Promise<A>, arg?: T): Promise<A> =>
    page.evaluate(
      (src: string, a: unknown) => {
        const w = window as unknown as PageWindow
        return (0, eval)(`(${src})`)(w.rxtrainExample, a, w)
      },
      f.toString(),
      arg as unknown,
    ) as Promise<A>

const statusOf = (page: Page): Promise<string> => page.$eval('#status', (el) => el.textContent ?? '')
const progressAtLeast = (page: Page, step: number) =>
  page.waitForFunction((n: number) => (document.getElementById('progress') as HTMLProgressElement).value >= n, { timeout: 60_000, polling: 20 }, step)

/** Node's uninterrupted run to STEPS, once: where every resumed run must end, bit for bit. */
let full: ReturnType<typeof nodeRun> | undefined
const nodeFull = () => (full ??= nodeRun({ maxSteps: STEPS }))

/** Test digit `i` as the pad gives it: 784 values in [0, 1]. */
const testDigit = (i: number): number[] => Array.from(arrays.test.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255)

describe('examples/browser-mnist in headless Chromium (wasm)', () => {
  it('trains with no console error, stops, resumes after a reload, and matches Node bit for bit both ways', async () => {
    const shots: string[] = []
    await withPage({ url: server.url }, async ({ page, problems }) => {
      const call = inPage(page)
      await call((x) => x.ready)
      const status = () => statusOf(page)
      // Single-threaded wasm (no cross-origin isolation), as in Node: the condition for bitwise equality.
      expect(await status()).toMatch(/^ready: 60000 training digits, wasm \(.*1 thread/)

      // 1. Train from scratch, watch it run, stop it after the first validation.
      await call((x, steps, w) => {
        w.pendingRun = x.start({ maxSteps: steps })
      }, STEPS)
      await progressAtLeast(page, STOP_AFTER)
      // The charts redraw from metrics.jsonl at most once a second: wait until both show lines and
      // the validation at step 100.
      await page.waitForFunction(
        () => [...document.querySelectorAll('figure.chart')].every((f) => f.querySelectorAll('g.role-mark path').length > 0 && [...f.querySelectorAll('text')].some((t) => t.textContent === 'val')),
        { timeout: 20_000, polling: 50 },
      )
      // Still training (the screenshot shows a live run; the stop below must land before STEPS).
      expect(await status()).toMatch(/^training on wasm/)
      const training = nodePath.join(artifacts, 'browser-mnist-training.png')
      await page.screenshot({ path: training, fullPage: true })
      shots.push(training)
      const barDuring = await page.$eval('#bar', (el) => el.textContent ?? '')
      await page.click('#stop')
      const stopped = await call((_, _a, w) => w.pendingRun as Promise<RunResult>)
      console.log(`Stop clicked after step ${STOP_AFTER}: the page stopped at step ${stopped.globalStep}`)
      expect(stopped.reason).toBe('interrupted')
      expect(stopped.globalStep).toBeGreaterThanOrEqual(STOP_AFTER)
      expect(stopped.globalStep).toBeLessThan(STEPS)
      expect(barDuring).toMatch(/\d+\/\d+/)
      expect(await status()).toContain(`stopped at step ${stopped.globalStep}`)

      // 2. Bitwise with Node: the same run stopped at the same step, parameters and checkpoint.
      const browserFiles = await call((x, dir) => x.readFiles(dir), RUN_DIR)
      expect(Object.keys(browserFiles)).toContain(`${RUN_DIR}/checkpoints/last.json`)
      const nodeAtStop = await nodeRun({ maxSteps: STEPS, stopAt: stopped.globalStep })
      expect(nodeAtStop.end).toMatchObject({ reason: 'interrupted', globalStep: stopped.globalStep })
      expect(stopped.digest, 'browser parameters at the stop = Node parameters at that step').toBe(nodeAtStop.digest)
      expect(tensorsOf(browserFiles) === tensorsOf(nodeAtStop.files), 'checkpoint tensors.bin bitwise equal').toBe(true)
      disposeTree(nodeAtStop.model)

      // 3. The browser's checkpoint resumes in Node, ending where an uninterrupted Node run ends.
      const { digest: fullDigest, end: fullEnd, model: fullModel } = await nodeFull()
      expect(fullEnd).toMatchObject({ reason: 'maxSteps', globalStep: STEPS })
      const nodeFromBrowser = await nodeRun({ maxSteps: STEPS, resume: true, files: browserFiles })
      expect(nodeFromBrowser.end).toMatchObject({ reason: 'maxSteps', globalStep: STEPS })
      expect(nodeFromBrowser.digest, 'browser checkpoint resumed in Node').toBe(fullDigest)
      expect(stopped.digest, 'the digest tells parameters apart').not.toBe(fullDigest)
      disposeTree(nodeFromBrowser.model)

      // 4. A reload: the page finds `last` (Resume enabled, the canvas has parameters) and resumes.
      await page.reload({ waitUntil: 'load' })
      await call((x) => x.ready)
      expect(await status()).toContain('last checkpoint loaded')
      expect(await page.$eval('#resume', (b) => (b as HTMLButtonElement).disabled)).toBe(false)
      expect(await call((x) => x.digest()), 'the reloaded page holds the stopped parameters').toBe(stopped.digest)
      // With the page's own controls: the steps box, then Resume.
      await page.$eval('#steps', (el, n) => {
        ;(el as HTMLInputElement).value = String(n)
      }, STEPS)
      await page.click('#resume')
      await page.waitForFunction((n: number) => document.getElementById('status')?.textContent === `finished (maxSteps) at step ${n}`, { timeout: 60_000 }, STEPS)
      expect(await call((x) => x.digest()), 'resumed after the reload, as the uninterrupted Node run').toBe(fullDigest)

      // The Download button: the run folder as a zip (checkpoint, CSV, JSONL, TensorBoard events).
      const cdp = await page.createCDPSession()
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads })
      await page.click('#download')
      const zipPath = nodePath.join(downloads, 'browser-mnist.zip')
      for (let i = 0; i < 200 && !existsSync(zipPath); i++) await new Promise((r) => setTimeout(r, 50))
      const zipped = unzipSync(new Uint8Array(readFileSync(zipPath)))
      const names = Object.keys(zipped).sort()
      const text = (suffix: string) => new TextDecoder().decode(zipped[names.find((n) => n.endsWith(suffix)) ?? ''] ?? new Uint8Array())
      expect(names.filter((n) => /(checkpoints\/last\.json|\/tensors\.bin|\/manifest\.json|metrics\.csv|metrics\.jsonl|hparams\.yaml)$/.test(n)), names.join(', ')).toHaveLength(6)
      expect(names.some((n) => /events\.out\.tfevents\./.test(n))).toBe(true)
      // `last` is the latest save: the periodic one (every SAVE_EVERY_N_STEPS), as a run that ends at
      // maxSteps saves nothing more (as Lightning's ModelCheckpoint).
      const lastStep = Number(/step=(\d+)"/.exec(text('checkpoints/last.json'))?.[1])
      expect(lastStep).toBeGreaterThanOrEqual(Math.floor(STEPS / SAVE_EVERY_N_STEPS) * SAVE_EVERY_N_STEPS)
      expect(lastStep).toBeLessThanOrEqual(STEPS)
      expect(text('metrics.csv').trim().split('\n').at(-1)).toMatch(new RegExp(`^\\d+,${STEPS - 1},`))

      // 5. The digit pad predicts as Node does (bitwise), and mostly right after this short run.
      const digits = Array.from({ length: 20 }, (_, i) => i)
      const pagePredictions = await call((x, pixels) => Promise.all(pixels.map((p) => x.predict(p))), digits.map(testDigit))
      const inNode = digits.map((i) => predictDigit(fullModel, testDigit(i)))
      expect(pagePredictions).toEqual(inNode)
      const right = inNode.filter((p, i) => p.indexOf(Math.max(...p)) === arrays.test.labels[i]).length
      expect(right).toBeGreaterThanOrEqual(16)

      // A digit drawn with the mouse: the pad shows ten bars and names the model's reading.
      await page.$eval('#canvas', (c) => c.scrollIntoView())
      const at = async (u: number, v: number) => {
        const b = await page.$eval('#canvas', (c) => c.getBoundingClientRect().toJSON() as DOMRect)
        return [b.left + (u / 280) * b.width, b.top + (v / 280) * b.height] as const
      }
      // A 7: a bar across the top, then a stroke down to the left.
      const stroke: [number, number][] = [[70, 60], [130, 58], [210, 60], [180, 120], [150, 180], [130, 235]]
      const [x0, y0] = await at(...stroke[0] as [number, number])
      await page.mouse.move(x0, y0)
      await page.mouse.down()
      for (const p of stroke.slice(1)) {
        const [x, y] = await at(...p)
        await page.mouse.move(x, y, { steps: 8 })
      }
      await page.mouse.up()
      await page.waitForFunction(() => /The model reads a \d\./.test(document.querySelector('#bars .hint')?.textContent ?? ''), { timeout: 10_000 })
      const reading = await page.$eval('#bars', (el) => ({
        hint: el.querySelector('.hint')?.textContent ?? '',
        bars: [...el.querySelectorAll('.bar .p')].map((p) => Number.parseFloat(p.textContent ?? 'NaN')),
      }))
      expect(reading.bars).toHaveLength(10)
      expect(reading.bars.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0)
      const pad = nodePath.join(artifacts, 'browser-mnist-digit.png')
      await (await page.$('#draw'))?.screenshot({ path: pad })
      shots.push(pad)
      const whole = nodePath.join(artifacts, 'browser-mnist-after.png')
      await page.screenshot({ path: whole, fullPage: true })
      shots.push(whole)
      console.log(`drawn 7: ${reading.hint}`)

      // 6. Node's checkpoint resumes in the page: Node's files at the stop step, into a cleared page.
      await call((x) => x.clearFiles())
      expect(await page.$eval('#resume', (b) => (b as HTMLButtonElement).disabled)).toBe(true)
      await call((x, files) => x.writeFiles(files), nodeAtStop.files)
      await page.reload({ waitUntil: 'load' })
      await call((x) => x.ready)
      expect(await call((x) => x.digest()), 'the page loaded the checkpoint Node wrote').toBe(stopped.digest)
      const fromNode = await call((x, steps) => x.start({ maxSteps: steps, resume: true }), STEPS)
      expect(fromNode).toEqual({ reason: 'maxSteps', globalStep: STEPS, digest: fullDigest })

      expect(problems).toEqual([])
    })
    console.log(`browser-mnist screenshots:\n  ${shots.join('\n  ')}`)
  }, 150_000)

  it('a reload in the middle of training loses at most the steps since the last save, and Resume still ends bitwise as Node', async () => {
    await withPage({ url: server.url }, async ({ page, problems }) => {
      const call = inPage(page)
      await call((x) => x.ready)
      await call((x, steps, w) => {
        w.pendingRun = x.start({ maxSteps: steps })
        // The reload ends this run: its promise never settles, nor may it report an error.
        w.pendingRun.catch(() => undefined)
      }, STEPS)
      await progressAtLeast(page, STOP_AFTER)
      await page.reload({ waitUntil: 'load' })
      await call((x) => x.ready)
      expect(await statusOf(page)).toContain('last checkpoint loaded')
      // `last` is the pagehide save (SIGTERM) if it finished, else the latest periodic one.
      const pointer = await call((x, p) => x.readFiles(p), `${RUN_DIR}/checkpoints/last.json`)
      const saved = JSON.parse(new TextDecoder().decode(fromBase64(Object.values(pointer)[0] ?? ''))) as { checkpoint?: string }
      console.log(`reloaded at step >= ${STOP_AFTER}: last = ${JSON.stringify(saved)}`)
      // No older than the periodic save before the reload (every SAVE_EVERY_N_STEPS = 50 steps).
      expect(Number(/step=(\d+)$/.exec(saved.checkpoint ?? '')?.[1])).toBeGreaterThanOrEqual(Math.floor(STOP_AFTER / SAVE_EVERY_N_STEPS) * SAVE_EVERY_N_STEPS)
      const resumed = await call((x, steps) => x.start({ maxSteps: steps, resume: true }), STEPS)
      expect(resumed).toEqual({ reason: 'maxSteps', globalStep: STEPS, digest: (await nodeFull()).digest })
      expect(problems).toEqual([])
    })
  }, 90_000)
})
