import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main as cnnMain } from '../../examples/mnist-cnn/main.js'
import { main as mlpMain } from '../../examples/mnist-mlp/main.js'

// The examples print progress; keep the test output readable but check what they print.
const printed: string[] = []
const runs = mkdtempSync(join(tmpdir(), 'rxtrain-examples-'))
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)))
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => (printed.push(...String(chunk).split('\n').filter((l) => l !== '')), true))
})
afterAll(() => {
  vi.restoreAllMocks()
  rmSync(runs, { recursive: true, force: true })
})

let accuracy32 = Number.NaN

describe('examples, end to end on a slice of MNIST', () => {
  it('mnist-mlp trains with progress, logs and checkpoints in a run directory, and tests the best checkpoint', async () => {
    printed.length = 0
    const result = await mlpMain(['--limit', '6000', '--epochs', '2', '--runs', join(runs, 'mlp')])
    expect(result.accuracy).toBeGreaterThan(0.85)
    accuracy32 = result.accuracy
    expect(result.outcome).toBe('tested')
    expect(result.runDir).toBe(join(runs, 'mlp', 'version_0'))
    const runDir = result.runDir as string
    // the model summary, one progress line per epoch end (stdout is not a TTY here), the test result
    expect(printed.some((l) => /^203,530\s+total params$/.test(l))).toBe(true)
    expect(printed.filter((l) => /^epoch \d\/2 · 24\/24 · .* val\/acc .* val\/loss/.test(l))).toHaveLength(2)
    expect(printed.some((l) => /^test accuracy 0\.\d{4} \(best checkpoint/.test(l))).toBe(true)
    const csv = readFileSync(join(runDir, 'metrics.csv'), 'utf8').split('\n')
    // 48 steps: no per-step rows yet (every 50 steps), the validation and epoch rows
    expect(csv[0]?.split(',').sort()).toEqual(['epoch', 'step', 'train/acc', 'train/loss_epoch', 'val/acc', 'val/loss'])
    expect(readFileSync(join(runDir, 'checkpoints', 'best.json'), 'utf8')).toMatch(/"checkpoint":"epoch=1-step=48-val_loss=/)
  })

  it("mnist-mlp in '16-mixed' (emulated float16 with loss scaling) reaches '32-true''s accuracy within 0.5 points", async () => {
    printed.length = 0
    const result = await mlpMain(['--limit', '6000', '--epochs', '2', '--precision', '16-mixed', '--runs', join(runs, 'mlp16')])
    expect(Math.abs(result.accuracy - accuracy32)).toBeLessThan(0.005)
  })

  it('mnist-cnn trains on the default accelerator (wasm with its convolution gradient), with progress and checkpoints', async () => {
    printed.length = 0
    const result = await cnnMain(['--limit', '1800', '--runs', join(runs, 'cnn')])
    expect(result.accuracy).toBeGreaterThan(0.6)
    // the backend in a short line, its details on the next; the epoch's progress line with its validation values
    const start = printed.find((l) => l.startsWith('training on wasm: 15 batches per epoch'))
    expect(start?.split('\n')[0]?.length).toBeLessThanOrEqual(80)
    expect(start).toMatch(/\n {2}wasm \(XNNPACK.*, accelerator 'auto'/)
    expect(printed.some((l) => /^epoch 1\/1 · 15\/15 · .* val\/acc .* val\/loss/.test(l))).toBe(true)
    expect(readFileSync(join(runs, 'cnn', 'version_0', 'checkpoints', 'last.json'), 'utf8')).toContain('"checkpoint"')
  })

  it('mnist-cnn trains data-parallel with --devices 2 (two ranks, each a wasm engine)', async () => {
    printed.length = 0
    const result = await cnnMain(['--limit', '1800', '--devices', '2', '--runs', join(runs, 'cnn')])
    expect(result.accuracy).toBeGreaterThan(0.6)
    expect(result.runDir).toBe(join(runs, 'cnn', 'version_1'))
  })

  it('--help prints the flags and trains nothing', async () => {
    printed.length = 0
    const result = await mlpMain(['--help'])
    expect(result.outcome).toBe('help')
    expect(result.exitCode).toBe(0)
    expect(printed.some((l) => l.includes('--epochs N'))).toBe(true)
  })
})
