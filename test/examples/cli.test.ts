import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { commandWith, type ExampleSpec, parseCommandLine, resolveArgs, UsageError } from '../../examples/shared/cli.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const spec: ExampleSpec = { name: 'mnist-mlp', summary: 'Train.', command: 'npm start --', epochs: 3, runs: 'runs/mnist-mlp' }

const args = (argv: string[]) => {
  const line = parseCommandLine(argv, spec)
  if ('help' in line) throw new Error('expected arguments, got help')
  return line.args
}
const usage = (argv: string[]): string => {
  try {
    parseCommandLine(argv, spec)
  } catch (e) {
    if (e instanceof UsageError) return e.message
    throw e
  }
  throw new Error(`expected a UsageError for ${argv.join(' ')}`)
}

describe("the examples' flags (parseArgs, strict)", () => {
  it('take --flag value and --flag=value, with the defaults for the rest', () => {
    expect(args(['--epochs', '2', '--limit=600', '--seed=7', '--runs', 'out'])).toEqual({
      epochs: 2,
      limit: 600,
      accelerator: 'auto',
      precision: '32-true',
      seed: 7,
      devices: 1,
      resume: undefined,
      runs: 'out',
    })
    expect(args([])).toMatchObject({ epochs: 3, runs: 'runs/mnist-mlp', devices: 1, seed: 0, limit: undefined })
  })

  it('take the tuner flags in the MLP example only: --lr-find (a switch) and --scale-batch-size power|binsearch', () => {
    const mlp: ExampleSpec = { ...spec, tuner: true }
    const tuned = (argv: string[]) => {
      const line = parseCommandLine(argv, mlp)
      return 'help' in line ? line.help : line.args
    }
    expect(tuned(['--lr-find', '--scale-batch-size', 'binsearch'])).toMatchObject({ lrFind: true, scaleBatchSize: 'binsearch' })
    expect(tuned(['--scale-batch-size=power'])).toMatchObject({ scaleBatchSize: 'power' })
    expect(tuned([])).not.toHaveProperty('lrFind')
    expect(() => tuned(['--scale-batch-size', 'twice'])).toThrow("--scale-batch-size must be power or binsearch, got 'twice'")
    expect(() => tuned(['--lr-find=yes'])).toThrow('--lr-find takes no value')
    expect(() => tuned(['--scale-batch-size'])).toThrow('--scale-batch-size needs a value: --scale-batch-size MODE')
    expect(tuned(['--help'])).toContain('--scale-batch-size MODE')
    expect(usage(['--lr-find'])).toBe('--lr-find is offered by the MLP example only (npm start -- --lr-find)')
    const help = parseCommandLine(['-h'], spec)
    expect('help' in help && help.help).not.toContain('--lr-find')
  })

  it('--epochs -1 (either form) is no limit, as Lightning’s max_epochs=-1', () => {
    expect(args(['--epochs', '-1']).epochs).toBe(-1)
    expect(args(['--epochs=-1']).epochs).toBe(-1)
  })

  it('refuse out-of-range, non-integer and empty values, naming the flag and the rule', () => {
    expect(usage(['--devices', '0'])).toBe('--devices must be 1 or more, got 0')
    expect(usage(['--epochs', '0'])).toBe('--epochs must be 1 or more, or -1 for no limit, got 0')
    expect(usage(['--epochs', '-2'])).toBe('--epochs must be 1 or more, or -1 for no limit, got -2')
    expect(usage(['--epochs', 'abc'])).toBe("--epochs must be an integer, got 'abc'")
    expect(usage(['--epochs=1.5'])).toBe("--epochs must be an integer, got '1.5'")
    expect(usage(['--limit', '1e3'])).toBe("--limit must be an integer, got '1e3'")
    expect(usage(['--limit', '0'])).toBe('--limit must be 1 or more, got 0')
    expect(usage(['--seed', ''])).toBe("--seed must be an integer, got ''")
    expect(usage(['--runs='])).toBe('--runs needs a value, got an empty one')
  })

  it('refuse unknown flags with a did-you-mean, missing values, stray words and values for --help', () => {
    expect(usage(['--epoch', '3'])).toBe('unknown flag --epoch: did you mean --epochs?')
    expect(usage(['--devcies=2'])).toBe('unknown flag --devcies: did you mean --devices?')
    expect(usage(['--bogus'])).toBe('unknown flag --bogus')
    expect(usage(['-e', '3'])).toBe('unknown flag -e: did you mean --epochs?')
    expect(usage(['--epochs'])).toBe('--epochs needs a value: --epochs N')
    expect(usage(['--resume', '--epochs', '2'])).toBe('--resume needs a value: --resume WHERE')
    expect(usage(['3'])).toBe("unexpected argument '3': flags start with --")
    expect(usage(['--help=yes'])).toBe('--help takes no value')
  })

  it('--help (or -h) lists every flag with its default and meaning, in 80 columns', () => {
    for (const flag of ['--help', '-h']) {
      const line = parseCommandLine(['--epochs', '2', flag], spec)
      expect('help' in line).toBe(true)
      const help = 'help' in line ? line.help : ''
      for (const name of ['epochs', 'limit', 'accelerator', 'precision', 'seed', 'devices', 'resume', 'runs', 'help']) expect(help).toContain(`--${name}`)
      expect(help).toContain('(default: 3)')
      expect(help).toContain('(default: runs/mnist-mlp)')
      expect(help.split('\n').filter((l) => l.length > 80)).toEqual([])
    }
  })

  it("check --accelerator and --precision with the trainer's option check (aliases included)", async () => {
    expect((await resolveArgs(args(['--precision', 'bf16']))).precision).toBe('bf16-mixed')
    await expect(resolveArgs(args(['--accelerator', 'tpu']))).rejects.toThrow(/^--accelerator tpu: set accelerator to one of 'auto', 'cpu', 'gpu', 'wasm', 'webgpu'/)
    await expect(resolveArgs(args(['--precision', 'fp8']))).rejects.toThrow(/^--precision fp8: use one of '32-true', '16-mixed'/)
  })

  it('repeat the command line without --resume (any form) in the commands they print', () => {
    expect(commandWith(spec, ['--epochs', '-1', '--resume', 'runs/a', '--limit=5'], 'runs/b')).toBe('npm start -- --epochs=-1 --limit=5 --resume runs/b')
    expect(commandWith(spec, ['--resume=last', '--runs', 'my runs'])).toBe("npm start -- --runs 'my runs'")
  })
})

/** Runs an example's entry file as `npm start` does, and gives its exit status and output. */
const run = (command: string, argv: string[]): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve, reject) => {
    const child =
      command === 'npm'
        ? spawn('npm', ['start', '--silent', '--', ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, ['--import', 'tsx', join(root, command), ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })

describe('the examples as programs', () => {
  it('`npm start -- --help` prints the flags and exits 0, without loading data', async () => {
    const { code, out, err } = await run('npm', ['--help'])
    expect(code).toBe(0)
    expect(out).toMatch(/^Train a multilayer perceptron/)
    expect(out).toContain('--epochs N')
    expect(out).toContain('(default: runs/mnist-mlp)')
    expect(out).not.toContain('loading MNIST')
    expect(err).toBe('')
  }, 30_000)

  it('the CNN example has the same flags, with its own defaults', async () => {
    const { code, out } = await run('examples/mnist-cnn/main.ts', ['-h'])
    expect(code).toBe(0)
    expect(out).toContain('(default: runs/mnist-cnn)')
    expect(out).toContain('npm run example:cnn --')
  }, 30_000)

  it('a bad flag is one line naming it on stderr, no stack trace, and exit status 2', async () => {
    const cases: [string[], string][] = [
      [['--devices', '0'], 'mnist-mlp: --devices must be 1 or more, got 0'],
      [['--epochs', '0'], 'mnist-mlp: --epochs must be 1 or more, or -1 for no limit, got 0'],
      [['--epochs', 'abc'], "mnist-mlp: --epochs must be an integer, got 'abc'"],
      [['--bogus'], 'mnist-mlp: unknown flag --bogus'],
      [['--accelerator', 'tpu'], "mnist-mlp: --accelerator tpu: set accelerator to one of 'auto'"],
    ]
    const results = await Promise.all(cases.map(([argv]) => run('examples/mnist-mlp/main.ts', argv)))
    results.forEach(({ code, out, err }, i) => {
      const [argv, message] = cases[i] as [string[], string]
      expect(code, argv.join(' ')).toBe(2)
      expect(out).toBe('')
      expect(err.trim().split('\n')).toHaveLength(1)
      expect(err).toContain(message)
      expect(err).not.toMatch(/\n\s+at /)
    })
  }, 60_000)
})
