/**
 * The examples' command line: node:util's `parseArgs` (strict), `--flag value` or `--flag=value`,
 * `--help`, range checks, and errors that name the flag. This file loads no TensorFlow.js (its
 * rxtrain imports are types), so `--help` and a mistyped flag answer at once.
 */
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import type { Accelerator, PrecisionName } from '../../src/index.js'

export interface ExampleArgs {
  /** Epochs to train; `-1` trains until stopped (Lightning's `max_epochs=-1`). */
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
  /** Run the learning-rate finder before training and train with its suggestion (`--lr-find`). */
  readonly lrFind?: boolean
  /** Find the largest batch size that trains before training, and train with it (`--scale-batch-size power|binsearch`). */
  readonly scaleBatchSize?: 'power' | 'binsearch' | undefined
}

/** What an example says of itself in `--help` and in the commands it prints. */
export interface ExampleSpec {
  /** `mnist-mlp`: the start of its error lines. */
  readonly name: string
  /** One sentence for the top of `--help`. */
  readonly summary: string
  /** The command that runs it, up to its flags: `npm start --`. */
  readonly command: string
  /** Its defaults. */
  readonly epochs: number
  readonly runs: string
  /** Whether it offers the tuner's flags (`--lr-find`, `--scale-batch-size`); others refuse them. */
  readonly tuner?: boolean
}

/** A bad command line. The examples print its message, one line without a stack, and exit with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

interface Flag {
  readonly name: keyof ExampleArgs
  /** The flag as typed, when it is not `--name` (`--lr-find`). */
  readonly cli?: string
  /** A switch: present or not, no value (`--lr-find`). */
  readonly boolean?: true
  /** A tuner flag: only examples whose spec says `tuner: true` offer it. */
  readonly tuner?: true
  /** The value's placeholder in `--help` (empty for a switch). */
  readonly value: string
  readonly help: string
  readonly default: (spec: ExampleSpec) => string
}

const flags: readonly Flag[] = [
  { name: 'epochs', value: 'N', help: 'epochs to train; -1: until stopped (Ctrl-C, SIGTERM)', default: (s) => String(s.epochs) },
  { name: 'limit', value: 'N', help: 'train on the first N digits, test on N/6', default: () => 'all' },
  { name: 'accelerator', value: 'NAME', help: 'auto, gpu, cpu, wasm, webgpu, tensorflow or tensorflow-gpu', default: () => 'auto' },
  { name: 'precision', value: 'NAME', help: '32-true, 16-mixed, bf16-mixed, 16-true or bf16-true (half precision is emulated)', default: () => '32-true' },
  { name: 'seed', value: 'N', help: 'seed of initialisation, shuffling and dropout', default: () => '0' },
  { name: 'devices', value: 'N', help: "data-parallel ranks, one per core ('ddp' above 1)", default: () => '1' },
  { name: 'resume', value: 'WHERE', help: 'continue a run: its directory, a checkpoint folder, or last (the newest run with a checkpoint)', default: () => 'none' },
  { name: 'runs', value: 'DIR', help: 'where run directories go', default: (s) => s.runs },
  { name: 'lrFind', cli: 'lr-find', tuner: true, boolean: true, value: '', help: 'find a learning rate first (lr_finder.csv in the run folder) and train with it', default: () => 'off' },
  { name: 'scaleBatchSize', cli: 'scale-batch-size', tuner: true, value: 'MODE', help: 'find the largest batch size that trains first (power or binsearch) and train with it', default: () => 'off' },
]
/** The flag as typed, without its dashes. */
const cliName = (f: Flag): string => f.cli ?? f.name
const flagNames = flags.map(cliName)
const switches = flags.filter((f) => f.boolean === true).map(cliName)
const options = {
  ...Object.fromEntries(flags.map((f) => [cliName(f), { type: f.boolean === true ? ('boolean' as const) : ('string' as const) }])),
  help: { type: 'boolean' as const, short: 'h' },
}

/** `text` in lines of at most `width` columns, broken between words. */
const wrap = (text: string, width: number): string[] => {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  return [...lines, line]
}

/** `--help`'s text, in 80 columns: every flag with its meaning and default. */
export const helpText = (spec: ExampleSpec): string => {
  const rows = [
    // The default is one word to the wrapping (a no-break space), so it is never split.
    ...flags.filter((f) => f.tuner !== true || spec.tuner === true).map((f) => [`  --${cliName(f)}${f.value === '' ? '' : ` ${f.value}`}`, `${f.help} (default:\u00a0${f.default(spec)})`] as const),
    ['  -h, --help', 'print this help and exit'] as const,
  ]
  const indent = Math.max(...rows.map(([left]) => left.length)) + 2
  return [
    spec.summary,
    '',
    `Usage: ${spec.command} [flags]   (--flag value or --flag=value)`,
    '',
    ...rows.flatMap(([left, right]) => wrap(right, 80 - indent).map((line, i) => `${(i === 0 ? left : '').padEnd(indent)}${line.replaceAll('\u00a0', ' ')}`)),
    '',
    'Ctrl-C or SIGTERM stops at the next step, saves a last checkpoint and prints the',
    'command that resumes; the exit status is then 130, and 2 for a bad flag.',
  ].join('\n')
}

/** Levenshtein distance, for "did you mean". */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length] as number
}

/** The known flag closest to `name`, if one is close (a typo, a plural, a prefix). */
const nearest = (name: string): string | undefined => {
  const scored = [...flagNames, 'help'].map((known) => ({ known, d: known.startsWith(name) || name.startsWith(known) ? 1 : distance(name, known) }))
  const best = scored.sort((a, b) => a.d - b.d)[0]
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.known : undefined
}

/** `--epochs -1`: parseArgs would take `-1` for a flag, so a negative number after a flag is joined to it (`--epochs=-1`). */
const joinNegatives = (argv: readonly string[]): string[] => {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = argv[i + 1]
    if (flagNames.includes(arg.slice(2)) && arg.startsWith('--') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else out.push(arg)
  }
  return out
}

/**
 * Says what is wrong with a command line that strict `parseArgs` refused, in words that name the
 * flag (Node's own messages vary between versions; the tokens of a lenient parse do not).
 */
const diagnose = (argv: readonly string[], error: unknown): UsageError => {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true })
  for (const token of tokens) {
    if (token.kind === 'positional') return new UsageError(`unexpected argument '${token.value}': flags start with --`)
    if (token.kind !== 'option') continue
    const known = token.name === 'help' || flagNames.includes(token.name)
    if (!known) {
      const near = nearest(token.name)
      return new UsageError(`unknown flag ${token.rawName}${near === undefined ? '' : `: did you mean --${near}?`}`)
    }
    const isSwitch = token.name === 'help' || switches.includes(token.name)
    if (isSwitch && token.value !== undefined) return new UsageError(`${token.rawName} takes no value`)
    if (!isSwitch && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))))
      return new UsageError(`--${token.name} needs a value: --${token.name} ${flags.find((f) => cliName(f) === token.name)?.value ?? 'VALUE'}`)
  }
  return new UsageError(error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error))
}

const integer = (name: string, raw: string, ok: (n: number) => boolean, rule: string): number => {
  const n = Number(raw)
  if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be an integer, got '${raw}'`)
  if (!ok(n)) throw new UsageError(`--${name} must be ${rule}, got ${n}`)
  return n
}

/** A parsed command line: the help text to print, or the run's arguments (still to resolve, see `resolveArgs`). */
export type CommandLine = { readonly help: string } | { readonly args: ExampleArgs }

/**
 * Parses an example's flags, or throws a `UsageError` naming the flag. Accelerator and precision
 * names are checked later, by the trainer's own option check (`resolveArgs`), so that this stays
 * free of TensorFlow.js.
 */
export const parseCommandLine = (argv: readonly string[], spec: ExampleSpec): CommandLine => {
  const args = joinNegatives(argv)
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (e) {
    throw diagnose(args, e)
  }
  if (values.help === true) return { help: helpText(spec) }
  const flagOf = (name: keyof ExampleArgs): string => cliName(flags.find((f) => f.name === name) as Flag)
  const text = (name: keyof ExampleArgs): string | undefined => {
    const v = values[flagOf(name)]
    return typeof v === 'string' ? v : undefined
  }
  const int = (name: keyof ExampleArgs, fallback: number, ok: (n: number) => boolean, rule: string): number => {
    const raw = text(name)
    return raw === undefined ? fallback : integer(name, raw, ok, rule)
  }
  const nonEmpty = (name: keyof ExampleArgs): string | undefined => {
    const v = text(name)
    if (v === '') throw new UsageError(`--${flagOf(name)} needs a value, got an empty one`)
    return v
  }
  const limit = text('limit')
  if (spec.tuner !== true)
    for (const f of flags) if (f.tuner === true && values[cliName(f)] !== undefined) throw new UsageError(`--${cliName(f)} is offered by the MLP example only (npm start -- --${cliName(f)})`)
  const scale = nonEmpty('scaleBatchSize')
  if (scale !== undefined && scale !== 'power' && scale !== 'binsearch') throw new UsageError(`--scale-batch-size must be power or binsearch, got '${scale}'`)
  return {
    args: {
      epochs: int('epochs', spec.epochs, (n) => n >= 1 || n === -1, '1 or more, or -1 for no limit'),
      limit: limit === undefined ? undefined : integer('limit', limit, (n) => n >= 1, '1 or more'),
      accelerator: (text('accelerator') ?? 'auto') as Accelerator,
      precision: (text('precision') ?? '32-true') as PrecisionName,
      seed: int('seed', 0, () => true, 'an integer'),
      devices: int('devices', 1, (n) => n >= 1, '1 or more'),
      resume: nonEmpty('resume'),
      runs: nonEmpty('runs') ?? spec.runs,
      ...(values['lr-find'] === true && { lrFind: true }),
      ...(scale !== undefined && { scaleBatchSize: scale }),
    },
  }
}

/**
 * Checks `--accelerator` and `--precision` with the trainer's own option check (which says what
 * they may be, and takes Lightning's aliases: `bf16` is `bf16-mixed`), as a `UsageError`.
 */
export const resolveArgs = async (args: ExampleArgs): Promise<ExampleArgs> => {
  const { parseTrainerOptions } = await import('../../src/index.js')
  const resolved = { ...args }
  for (const name of ['accelerator', 'precision'] as const) {
    const parsed = parseTrainerOptions({ [name]: args[name] })
    if (E.isLeft(parsed)) throw new UsageError(`--${name} ${args[name]}: ${parsed.left.remedy}`)
    Object.assign(resolved, { [name]: parsed.right[name] })
  }
  return resolved
}

/** A shell word as typed: quoted when it holds anything a shell would read differently. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)

/** The command line again without `--resume` (in any of its forms), for the commands an example prints. */
export const withoutResume = (argv: readonly string[]): string[] => {
  const args = joinNegatives(argv)
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true })
  const skip = new Set<number>()
  for (const t of tokens)
    if (t.kind === 'option' && t.name === 'resume') {
      skip.add(t.index)
      if (!t.inlineValue && t.value !== undefined) skip.add(t.index + 1)
    }
  return args.filter((_, i) => !skip.has(i))
}

/** `npm start -- --epochs 2 --resume runs/mnist-mlp/version_0`: the command with these flags. */
export const commandWith = (spec: ExampleSpec, argv: readonly string[], resume?: string): string =>
  [spec.command, ...[...withoutResume(argv), ...(resume === undefined ? [] : ['--resume', resume])].map(shellWord)].join(' ')
