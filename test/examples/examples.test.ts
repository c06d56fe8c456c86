import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main as cnnMain } from '../../examples/mnist-cnn/main.js'
import { main as mlpMain } from '../../examples/mnist-mlp/main.js'
import { parseExampleArgs } from '../../examples/shared/cli.js'

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
    expect(result.runDir).toBe(join(runs, 'mlp', 'version_0'))
    // the model summary, one progress line per epoch end (stdout is not a TTY here), the test result
    expect(printed.some((l) => /^203,530\s+total params$/.test(l))).toBe(true)
    expect(printed.filter((l) => /^epoch \d\/2 · 24\/24 · .* val\/acc .* val\/loss/.test(l))).toHaveLength(2)
    expect(printed.some((l) => /^test accuracy 0\.\d{4} \(best checkpoint/.test(l))).toBe(true)
    const csv = readFileSync(join(result.runDir, 'metrics.csv'), 'utf8').split('\n')
    // 48 steps: no per-step rows yet (every 50 steps), the validation and epoch rows
    expect(csv[0]?.split(',').sort()).toEqual(['epoch', 'step', 'train/acc', 'train/loss_epoch', 'val/acc', 'val/loss'])
    expect(readFileSync(join(result.runDir, 'checkpoints', 'best.json'), 'utf8')).toMatch(/"checkpoint":"epoch=1-step=48-val_loss=/)
  })

  it("mnist-mlp in '16-mixed' (emulated float16 with loss scaling) reaches '32-true''s accuracy within 0.5 points", async () => {
    printed.length = 0
    const result = await mlpMain(['--limit', '6000', '--epochs', '2', '--precision', '16-mixed', '--runs', join(runs, 'mlp16')])
    expect(Math.abs(result.accuracy - accuracy32)).toBeLessThan(0.005)
  })

  it('mnist-cnn trains on the default accelerator (wasm with its convolution gradient)', async () => {
    printed.length = 0
    const accuracy = await cnnMain(['--limit', '1800'])
    expect(accuracy).toBeGreaterThan(0.6)
    expect(printed.some((l) => l.startsWith('training on wasm'))).toBe(true)
  })

  it('mnist-cnn trains data-parallel with --devices 2 (two ranks, each a wasm engine)', async () => {
    printed.length = 0
    const accuracy = await cnnMain(['--limit', '1800', '--devices', '2'])
    expect(accuracy).toBeGreaterThan(0.6)
  })

  it('the examples reject bad flags with a usage line', () => {
    expect(() => parseExampleArgs(['--epoch', '3'], { epochs: 1 })).toThrow(/unknown flag --epoch\nusage/)
    expect(() => parseExampleArgs(['--epochs', 'x'], { epochs: 1 })).toThrow(/--epochs must be an integer/)
    expect(() => parseExampleArgs(['--accelerator', 'tpu'], { epochs: 1 })).toThrow(/--accelerator tpu: set accelerator to one of 'auto', 'cpu', 'gpu', 'wasm', 'webgpu'/)
    expect(() => parseExampleArgs(['--precision', 'fp8'], { epochs: 1 })).toThrow(/--precision fp8: use one of '32-true', '16-mixed'/)
    expect(parseExampleArgs(['--precision', 'bf16'], { epochs: 1 }).precision).toBe('bf16-mixed')
  })
})
