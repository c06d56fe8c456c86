import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { reportCommand } from '../../src/cli/reportCommand.js'
import { prefixSvgIds } from '../../src/report/renderCharts.js'

const root = mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-report-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const call = async (...argv: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = await reportCommand.run(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: root })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('rxtrain report command line', () => {
  it('--help prints the usage', async () => {
    const r = await call('--help')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^rxtrain report <run dir> \[more run dirs\] \[--out DIR\]/)
    expect(r.out).toContain('npm install --save-dev vega vega-lite @resvg/resvg-js')
  })

  it('a bad command line is a usage error (exit 2) with one clear line', async () => {
    expect(await call()).toMatchObject({ code: 2, err: expect.stringMatching(/^rxtrain report: no run folder given/) })
    expect(await call('runs/x', '--width', '3')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option --width/) })
    expect(await call('runs/x', '--out')).toMatchObject({ code: 2, err: expect.stringMatching(/--out needs a folder/) })
  })

  it('a folder that is not a run says what is missing, without a stack trace', async () => {
    mkdirSync(nodePath.join(root, 'runs', 'mnist', 'version_0'), { recursive: true })
    writeFileSync(nodePath.join(root, 'runs', 'mnist', 'version_0', 'metrics.csv'), 'epoch,step,a\n0,1,2\n')
    const r = await call('runs/mnist')
    expect(r.code).toBe(2)
    expect(r.err).toBe(
      'rxtrain report: runs/mnist is not a run folder: it has none of metrics.csv, metrics.jsonl, result.json, config.yaml, hparams.yaml, checkpoints\n' +
        '  How to fix: this folder holds runs (version_0): give one of them, e.g. rxtrain report runs/mnist/version_0.',
    )
    expect((await call('runs/nothing')).err).toMatch(/^rxtrain report: there is no folder runs\/nothing\n  How to fix:/)
  })
})

describe('inlined SVGs', () => {
  it('get their ids prefixed, so that two charts on one page do not clip to each other\'s paths', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/></g><text>url(#other)</text></svg>'
    expect(prefixSvgIds(svg, 'c01-')).toBe('<svg><defs><clipPath id="c01-clip1"><rect/></clipPath></defs><g clip-path="url(#c01-clip1)"><use href="#c01-clip1"/></g><text>url(#other)</text></svg>')
  })
})
