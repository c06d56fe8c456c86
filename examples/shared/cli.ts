import * as E from 'fp-ts/lib/Either.js'
import { type Accelerator, isRxtrainError, type PrecisionName, parseTrainerOptions, type ResolvedOptions } from '../../src/index.js'

export interface ExampleArgs {
  readonly epochs: number
  readonly limit: number | undefined
  readonly accelerator: Accelerator
  /** Lightning's precision names (`16-mixed`, `bf16-mixed`, ...); half precision is emulated. */
  readonly precision: PrecisionName
  readonly seed: number
  /** Data-parallel ranks (`strategy: 'ddp'` when above 1). */
  readonly devices: number
  /** A run directory to resume (`runs/mnist-mlp/version_0`), a checkpoint folder, or `last` for the newest run holding a checkpoint. */
  readonly resume: string | undefined
  /** Where run directories go. */
  readonly runs: string
}

const usage = '--epochs N  --limit N  --accelerator auto|gpu|cpu|wasm|webgpu|tensorflow|tensorflow-gpu  --precision 32-true|16-mixed|bf16-mixed|16-true|bf16-true  --seed N  --devices N  --resume <run dir>|<checkpoint folder>|last  --runs <dir>'
const flagNames = ['epochs', 'limit', 'accelerator', 'precision', 'seed', 'devices', 'resume', 'runs']

/** The examples' few command-line flags. */
export const parseExampleArgs = (argv: readonly string[], defaults: { epochs: number; runs?: string; accelerator?: Accelerator }): ExampleArgs => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i] ?? ''
    const value = argv[i + 1]
    if (!name.startsWith('--') || value === undefined) throw new Error(`bad arguments: ${argv.join(' ')}\nusage: ${usage}`)
    flags.set(name.slice(2), value)
  }
  for (const name of flags.keys()) if (!flagNames.includes(name)) throw new Error(`unknown flag --${name}\nusage: ${usage}`)
  const int = (name: string, fallback: number | undefined): number | undefined => {
    const v = flags.get(name)
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${v}`)
    return n
  }
  // The trainer's own option check says what an accelerator or precision may be.
  const option = <K extends 'accelerator' | 'precision'>(name: K, value: string | undefined): ResolvedOptions[K] | undefined => {
    if (value === undefined) return undefined
    const parsed = parseTrainerOptions({ [name]: value })
    if (E.isLeft(parsed)) throw new Error(`--${name} ${value}: ${parsed.left.remedy}\nusage: ${usage}`)
    return parsed.right[name]
  }
  const accelerator = option('accelerator', flags.get('accelerator')) ?? defaults.accelerator ?? 'auto'
  const precision = option('precision', flags.get('precision')) ?? '32-true'
  return {
    epochs: int('epochs', defaults.epochs) as number,
    limit: int('limit', undefined),
    accelerator,
    precision,
    seed: int('seed', 0) as number,
    devices: int('devices', 1) as number,
    resume: flags.get('resume'),
    runs: flags.get('runs') ?? defaults.runs ?? 'runs',
  }
}

/** Prints an error as its message (with the remedy), not as a stack trace, and exits 1. */
export const exitOnError = (e: unknown): void => {
  console.error(isRxtrainError(e) || e instanceof Error ? e.message : String(e))
  process.exitCode = 1
}
