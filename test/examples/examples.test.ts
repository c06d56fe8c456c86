import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main as cnnMain } from '../../examples/mnist-cnn/main.js'
import { main as mlpMain } from '../../examples/mnist-mlp/main.js'
import { parseExampleArgs } from '../../examples/shared/cli.js'

// The examples print progress; keep the test output readable but check what they print.
const printed: string[] = []
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)))
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => (printed.push(String(chunk)), true))
})
afterAll(() => vi.restoreAllMocks())

describe('examples, end to end on a slice of MNIST', () => {
  it('mnist-mlp trains, prints one line per epoch and a test accuracy', async () => {
    printed.length = 0
    const accuracy = await mlpMain(['--limit', '6000', '--epochs', '2'])
    expect(accuracy).toBeGreaterThan(0.85)
    expect(printed.filter((l) => /^epoch \d\/2 · train\/acc .* val\/acc .* val\/loss/.test(l))).toHaveLength(2)
    expect(printed.some((l) => /^test accuracy 0\.\d{4}$/.test(l))).toBe(true)
  })

  it('mnist-cnn trains on the default accelerator (wasm with its convolution gradient)', async () => {
    printed.length = 0
    const accuracy = await cnnMain(['--limit', '1800'])
    expect(accuracy).toBeGreaterThan(0.6)
    expect(printed.some((l) => l.startsWith('training on wasm'))).toBe(true)
  })

  it('the examples reject bad flags with a usage line', () => {
    expect(() => parseExampleArgs(['--epoch', '3'], { epochs: 1 })).toThrow(/unknown flag --epoch\nusage/)
    expect(() => parseExampleArgs(['--epochs', 'x'], { epochs: 1 })).toThrow(/--epochs must be an integer/)
    expect(() => parseExampleArgs(['--accelerator', 'gpu'], { epochs: 1 })).toThrow(/--accelerator must be one of auto, cpu, wasm/)
  })
})
