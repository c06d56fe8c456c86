/**
 * The report as a user sees it: a tiny real run (CSV log, lr monitor, checkpoints, a logged
 * confusion matrix), plus the result.json `rxtrain fit` writes and an lr finder's file, turned
 * into a report by the `rxtrain report` command, then opened in headless Chromium: it must load
 * with no console error and every chart must have drawn marks. The screenshot is kept (path printed).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { pathToFileURL } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, toArray } from 'rxjs'
import type { Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { reportCommand } from '../../src/cli/reportCommand.js'
import { nodeFileSystem } from '../../src/effects/nodeFileSystem.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { lrMonitor } from '../../src/hooks/lrMonitor.js'
import { sgd } from '../../src/optim/aliases.js'
import { fit } from '../../src/pipeline/fit.js'
import { defineModule } from '../../src/pipeline/module.js'
import { quiet, useBackend } from '../support/backend.js'
import { withPage } from '../support/chromium.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
const root = mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-report-'))
const runDir = nodePath.join(root, 'runs', 'line', 'version_0')

const predict = (p: { w: tf.Tensor; b: tf.Tensor }, x: tf.Tensor) => tf.add(tf.matMul(x, p.w), p.b)
/** A line fit whose validation also logs a (made-up) 2-class confusion matrix, as `val/confusion/<actual>/<predicted>`. */
const lineWithConfusion = defineModule({
  init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
  trainingStep: (model, batch: XY) => {
    const loss = tf.mean(tf.squaredDifference(predict(model.params, batch.x), batch.y)) as tf.Scalar
    return { loss, logs: { 'train/loss': loss } }
  },
  validationStep: (model, batch: XY) => ({
    'val/loss': tf.mean(tf.squaredDifference(predict(model.params, batch.x), batch.y)),
    'val/confusion/0/0': tf.scalar(40),
    'val/confusion/0/1': tf.scalar(3),
    'val/confusion/1/0': tf.scalar(7),
    'val/confusion/1/1': tf.scalar(50),
  }),
  optimizer: sgd({ lr: 0.1 }),
})

beforeAll(async () => {
  backend = await useBackend('cpu')
  await lastValueFrom(
    fit(lineWithConfusion, tinyData(8, 2), { maxEpochs: 3, logEveryNSteps: 1, defaultRootDir: runDir }, { backend, signals: quiet, fs: nodeFileSystem }).pipe(
      lrMonitor(),
      checkpoint({ monitor: 'val/loss', mode: 'min', saveTopK: 2, saveLast: true }),
      csvLogger(),
      toArray(),
    ),
  )
  // What `rxtrain fit` adds at the end of a run, and what an lr finder writes.
  writeFileSync(
    nodePath.join(runDir, 'result.json'),
    JSON.stringify({ status: 'finished', reason: 'maxEpochs', epoch: 3, globalStep: 24, metrics: { 'val/loss': 0.01 }, startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:00:02Z', durationMs: 2000, backend: 'cpu', precision: '32-true', versions: { rxtrain: '0.2.0', tfjs: '4.22.0' } }),
  )
  writeFileSync(nodePath.join(runDir, 'lr_finder.json'), JSON.stringify({ lr: [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1], loss: [4, 3.9, 3, 1.2, 0.9, 8], suggestion: 1e-2 }))
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('rxtrain report, end to end', () => {
  it('writes report.html and one PNG per chart, and the page draws every chart in Chromium', async () => {
    const out: string[] = []
    const err: string[] = []
    const code = await reportCommand.run([nodePath.relative(root, runDir)], { out: (l) => out.push(l), err: (l) => err.push(l), cwd: root })
    expect(err).toEqual([])
    expect(code).toBe(0)
    const reportDir = nodePath.join(runDir, 'report')
    const pngs = readdirSync(reportDir).filter((f) => f.endsWith('.png')).sort()
    expect(pngs).toEqual(['01-loss.png', '02-lr.png', '03-confusion-val.png', '04-lr-finder.png'])
    expect(out[0]).toBe(`wrote ${nodePath.join('runs', 'line', 'version_0', 'report', 'report.html')} with 4 charts:`)

    // Opened as the user opens it, from the disk; it must not reach the network (its scripts are inlined).
    const watch = (page: Page, problems: string[]): void => {
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`)
      })
    }
    await withPage({ url: pathToFileURL(nodePath.join(reportDir, 'report.html')).href }, async ({ page, problems }) => {
      const charts = await page.$$eval('figure.chart', (figures) =>
        figures.map((f) => {
          const svg = f.querySelector('svg')
          const box = svg?.getBoundingClientRect()
          // Vega draws each mark (line, point, rect, rule) as a path in a group of role "mark".
          const marks = [...f.querySelectorAll('g.role-mark path')].filter((p) => (p.getAttribute('d') ?? '') !== '').length
          return { id: f.id, kind: f.getAttribute('data-kind'), marks, width: box?.width ?? 0, height: box?.height ?? 0 }
        }),
      )
      expect(charts.map((c) => c.id)).toEqual(['chart-01-loss', 'chart-02-lr', 'chart-03-confusion-val', 'chart-04-lr-finder'])
      for (const c of charts) {
        expect(c.marks, `${c.id} has drawn marks`).toBeGreaterThan(0)
        expect(c.width, `${c.id} is laid out`).toBeGreaterThan(100)
        expect(c.height).toBeGreaterThan(100)
      }
      // the confusion matrix draws its 4 cells
      expect(charts.find((c) => c.kind === 'confusion')?.marks).toBeGreaterThanOrEqual(4)
      const text = await page.$eval('body', (b) => b.innerText)
      expect(text).toContain('32-true')
      expect(text).toMatch(/best[\s\S]*last|last[\s\S]*best/)
      expect(problems).toEqual([])
      const shots = nodePath.join(process.env.TMPDIR ?? os.tmpdir(), 'rxtrain-report-e2e')
      mkdirSync(shots, { recursive: true })
      const shot = nodePath.join(shots, 'report.png')
      await page.screenshot({ path: shot, fullPage: true })
      console.log(`report screenshot: ${shot}`)
    }, { watch })
  })
})
