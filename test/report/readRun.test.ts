import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { readRun, runLabels } from '../../src/report/readRun.js'
import { lastValues, reportHtml, runFacts } from '../../src/report/reportHtml.js'

const csv = 'epoch,step,train/loss_step,val/loss\n0,4,2.0,\n0,9,,1.5\n'
const result = {
  status: 'finished',
  reason: 'maxEpochs',
  epoch: 1,
  globalStep: 10,
  metrics: { 'val/loss': 1.5 },
  monitor: 'val/loss',
  best: { checkpoint: 'epoch=0-step=10', score: 1.5 },
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:01:23.500Z',
  durationMs: 83500,
  backend: 'wasm',
  precision: '32-true',
  versions: { rxtrain: '0.2.0', tfjs: '4.22.0' },
}

describe('readRun', () => {
  it('reads metrics, hparams, config, result.json and checkpoint pointers; a damaged manifest becomes a row with its problem', async () => {
    const fs = memoryFileSystem({
      '/r/metrics.csv': csv,
      '/r/hparams.yaml': 'maxEpochs: 2\nprecision: 32-true\n',
      '/r/config.yaml': 'name: x\n',
      '/r/result.json': JSON.stringify({ ...result, globalStep: 'ten' }),
      '/r/checkpoints/epoch=0-step=10/manifest.json': '{"sha256":"00","content":{}}',
      '/r/checkpoints/best.json': '{"checkpoint":"epoch=0-step=10"}',
      '/r/checkpoints/last.json': '{"checkpoint":"epoch=0-step=10"}',
    })
    const run = await readRun(fs, '/r', 'r')()
    if (E.isLeft(run)) throw run.left
    const r = run.right
    expect(r.metricsFile).toBe('metrics.csv')
    expect(r.points).toHaveLength(2)
    expect(r.hparams).toEqual({ maxEpochs: 2, precision: '32-true' })
    expect(r.configText).toBe('name: x\n')
    expect(r.result?.backend).toBe('wasm')
    expect(r.result?.globalStep).toBeUndefined()
    expect(r.notes.join(' ')).toMatch(/ignored field\(s\) of an unexpected type: globalStep/)
    expect(r.checkpoints).toEqual([{ name: 'epoch=0-step=10', dir: 'checkpoints', best: true, last: true, problem: expect.stringMatching(/damaged/) }])
  })

  it('prefers metrics.jsonl (it has times) and reads lr_finder.json and profiler.json', async () => {
    const fs = memoryFileSystem({
      '/r/metrics.csv': csv,
      '/r/metrics.jsonl': `${JSON.stringify({ kind: 'train', epoch: 0, step: 1, time: 5000, metrics: { 'train/loss': 1 } })}\n${JSON.stringify({ kind: 'val', epoch: 0, step: 2, time: 65000, metrics: { 'val/loss': 1 } })}\n`,
      '/r/lr_finder.json': JSON.stringify({ lr: [1e-4, 1e-3], loss: [2, 1], suggestion: 1e-3 }),
      '/r/profiler.json': JSON.stringify([{ action: 'trainStep', calls: 10, meanMs: 5.5 }]),
    })
    const r = await readRun(fs, '/r')()
    expect(E.isRight(r) && r.right).toMatchObject({
      metricsFile: 'metrics.jsonl',
      loggedSpanMs: 60000,
      lrFinder: { points: [{ lr: 1e-4, loss: 2 }, { lr: 1e-3, loss: 1 }], suggestion: 1e-3 },
      profiler: { columns: ['action', 'calls', 'meanMs'], rows: [{ action: 'trainStep', calls: 10, meanMs: 5.5 }] },
    })
  })

  it('refuses a missing folder, and a folder that is not a run, saying what is missing and which runs it holds', async () => {
    const fs = memoryFileSystem({ '/runs/mnist/version_0/metrics.csv': csv, '/runs/mnist/version_1/metrics.csv': csv, '/empty/notes.txt': 'hi' })
    const missing = await readRun(fs, '/nowhere')()
    expect(E.isLeft(missing) && missing.left.problem).toBe('there is no folder /nowhere')
    const parent = await readRun(fs, '/runs/mnist')()
    expect(E.isLeft(parent) && parent.left).toMatchObject({ tag: 'FileError', problem: expect.stringMatching(/is not a run folder: it has none of metrics.csv, metrics.jsonl, result.json/) })
    expect(E.isLeft(parent) && parent.left.remedy).toMatch(/version_0, version_1\): give one of them, e.g. rxtrain report \/runs\/mnist\/version_1/)
    const empty = await readRun(fs, '/empty')()
    expect(E.isLeft(empty) && empty.left.remedy).toMatch(/runs\/<name>\/version_N/)
  })

  it('names runs by the shortest path suffix that tells them apart', () => {
    expect(runLabels(['runs/a/version_0', 'runs/a/version_1'])).toEqual(['version_0', 'version_1'])
    expect(runLabels(['runs/a/version_0', 'runs/b/version_0'])).toEqual(['a/version_0', 'b/version_0'])
    expect(runLabels(['/x/runs/version_0/'])).toEqual(['version_0'])
  })
})

describe('report page', () => {
  it('states backend, precision, versions, duration and the best checkpoint from result.json', async () => {
    const fs = memoryFileSystem({ '/r/metrics.csv': csv, '/r/result.json': JSON.stringify(result) })
    const r = await readRun(fs, '/r', 'r')()
    if (E.isLeft(r)) throw r.left
    expect(Object.fromEntries(runFacts(r.right))).toMatchObject({
      status: 'finished (maxEpochs)',
      backend: 'wasm',
      precision: '32-true',
      'rxtrain version': '0.2.0',
      'tfjs version': '4.22.0',
      duration: '1 min 23.5 s',
      'best checkpoint': 'epoch=0-step=10 (val/loss 1.5)',
    })
  })

  it('without result.json, says what is not recorded and takes what the folder has', async () => {
    const fs = memoryFileSystem({ '/r/metrics.csv': csv, '/r/hparams.yaml': 'accelerator: auto\nprecision: bf16-mixed\n' })
    const r = await readRun(fs, '/r', 'r')()
    if (E.isLeft(r)) throw r.left
    const facts = Object.fromEntries(runFacts(r.right))
    expect(facts).toMatchObject({ backend: 'not recorded (accelerator asked for: auto)', precision: 'bf16-mixed', 'rxtrain version': 'not recorded', duration: 'not recorded', 'global step': '9 (last logged)' })
    expect(lastValues(r.right)).toEqual({ 'train/loss_step': 2, 'val/loss': 1.5 })
  })

  it('escapes what it shows, inlines the charts, and fetches nothing', async () => {
    const fs = memoryFileSystem({ '/r/metrics.csv': csv, '/r/config.yaml': 'name: "<script>alert(1)</script>"\n' })
    const r = await readRun(fs, '/r', 'r')()
    if (E.isLeft(r)) throw r.left
    const chart = { id: '01-loss', title: 'loss', kind: 'curves' as const, spec: {}, points: 2 }
    const html = reportHtml([r.right], [{ chart, svg: '<svg id="s"></svg>', png: '01-loss.png' }], '2026-01-01T00:00:00.000Z')
    expect(html).not.toContain('<script')
    expect(html).toContain('&lt;script&gt;')
    expect(html).toContain('<figure class="chart" id="chart-01-loss" data-kind="curves"><svg id="s"></svg>')
    expect(html).not.toMatch(/(src|href)="https?:/)
  })
})
