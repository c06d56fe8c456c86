import type { ConfigOverride } from '../config/loadConfig.js'
import { nearestName } from '../pipeline/nearestName.js'

/*
 * The command line of the subcommands that take a config (fit, validate, test, predict,
 * print-config): `--config FILE` (repeatable, merged in order), `--set PATH=VALUE` and
 * `--PATH VALUE` / `--PATH=VALUE` overrides (LightningCLI's `--trainer.max_epochs 5`), and each
 * command's own flags. Parsed by hand: overrides are open-ended flags, which node:util's
 * parseArgs cannot take.
 */

/** A flag a command takes besides `--config`, `--set` and overrides. */
export interface FlagSpec {
  /** Without the dashes: `run-dir`. */
  readonly name: string
  /** The value's placeholder in `--help`, or undefined for a flag without a value. */
  readonly value?: string
  readonly help: string
}

/** What a command line says. */
export interface RunArgs {
  readonly configs: readonly string[]
  readonly overrides: readonly ConfigOverride[]
  /** The command's own flags by name (a boolean flag is 'true'). */
  readonly flags: Readonly<Record<string, string>>
  readonly help: boolean
}

/** The flags every config-taking command has. */
export const configFlags: readonly FlagSpec[] = [
  { name: 'config', value: 'FILE', help: 'a YAML, JSON or TypeScript (defineConfig) config; several merge in order' },
  { name: 'set', value: 'PATH=VALUE', help: 'override one field, e.g. --set trainer.maxEpochs=5 (the value is read as YAML)' },
  { name: 'PATH', value: 'VALUE', help: 'the same as --set PATH=VALUE, e.g. --trainer.maxEpochs 5 or --model.args.hidden=128' },
]

const TOP_LEVEL_KEYS = ['name', 'runsDir']

/**
 * Parses a command line, or says what is wrong with it (one line, naming the flag, with a
 * did-you-mean for a misspelt one).
 *
 * @example
 * parseRunArgs(['--config', 'run.yaml', '--trainer.maxEpochs', '5'], [])
 * // { configs: ['run.yaml'], overrides: [{ flag: '--trainer.maxEpochs 5', path: 'trainer.maxEpochs', text: '5' }], flags: {}, help: false }
 */
export const parseRunArgs = (argv: readonly string[], own: readonly FlagSpec[]): { readonly args: RunArgs } | { readonly usage: string } => {
  const configs: string[] = []
  const overrides: ConfigOverride[] = []
  const flags: Record<string, string> = {}
  let help = false
  const known = ['config', 'set', 'help', ...own.map((f) => f.name)]
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '-h' || arg === '--help') {
      help = true
      continue
    }
    if (!arg.startsWith('--') || arg === '--') {
      const hint = /\.(ya?ml|json|[cm]?[jt]s)$/.test(arg) ? `: name a config with --config ${arg}` : ': flags start with --'
      return { usage: `unexpected argument '${arg}'${hint}` }
    }
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    const inline = eq < 0 ? undefined : arg.slice(eq + 1)
    const spec = own.find((f) => f.name === name)
    const takesValue = name === 'config' || name === 'set' || name.includes('.') || TOP_LEVEL_KEYS.includes(name) || spec?.value !== undefined
    if (!takesValue && spec === undefined) {
      const near = nearestName(name, [...known, ...TOP_LEVEL_KEYS, 'trainer.maxEpochs'])
      return { usage: `unknown flag --${name}${near !== undefined ? `: did you mean --${near}?` : ''}` }
    }
    let value = inline
    if (takesValue && value === undefined) {
      // An override's value may start with a dash (`--trainer.maxEpochs -1`); another flag's may not.
      const next = argv[i + 1]
      if (next === undefined || (next.startsWith('--') && !(name.includes('.') || name === 'set'))) return { usage: `--${name} needs a value: --${name} ${spec?.value ?? (name === 'set' ? 'PATH=VALUE' : name === 'config' ? 'FILE' : 'VALUE')}` }
      value = next
      i++
    }
    if (!takesValue) {
      if (inline !== undefined) return { usage: `--${name} takes no value` }
      flags[name] = 'true'
      continue
    }
    const text = value as string
    if (name === 'config') {
      if (text === '') return { usage: '--config needs a file' }
      configs.push(text)
    } else if (name === 'set') {
      const at = text.indexOf('=')
      if (at <= 0) return { usage: `--set ${text}: write --set PATH=VALUE, e.g. --set trainer.maxEpochs=5` }
      overrides.push({ flag: `--set ${text}`, path: text.slice(0, at), text: text.slice(at + 1) })
    } else if (spec !== undefined) {
      if (text === '') return { usage: `--${name} needs a value, got an empty one` }
      flags[name] = text
    } else overrides.push({ flag: inline === undefined ? `--${name} ${text}` : arg, path: name, text })
  }
  return { args: { configs, overrides, flags, help } }
}

/** `--help` text: the usage line, what the command does, and its flags in two columns. */
export const helpText = (usage: string, about: readonly string[], own: readonly FlagSpec[], after: readonly string[] = []): string => {
  const rows = [...configFlags, ...own, { name: 'help', help: 'print this help' }].map((f) => [`  --${f.name}${f.value === undefined ? '' : ` ${f.value}`}`, f.help] as const)
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  return [`Usage: ${usage}`, '', ...about, '', 'Flags:', ...rows.map(([left, right]) => `${left.padEnd(width)}${right}`), ...(after.length > 0 ? ['', ...after] : [])].join('\n')
}
