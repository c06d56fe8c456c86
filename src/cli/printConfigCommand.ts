import * as E from 'fp-ts/lib/Either.js'
import { runConfigYaml } from '../config/runConfig.js'
import { configOf, printUsage } from './cliSupport.js'
import { type CliIO, type Command, EXIT } from './command.js'
import { helpText, parseRunArgs } from './runArgs.js'
import { liveRunDeps, type RunDeps } from './runDeps.js'

const help = helpText(
  'rxtrain print-config --config run.yaml [--config more.yaml] [--set PATH=VALUE | --PATH VALUE]...',
  [
    'Prints the resolved config as YAML: the files merged in order, the overrides set, every',
    'default filled in and module paths made absolute; what `rxtrain fit` saves as config.yaml.',
    'Its output, given back as --config, prints the same. Checks the config without running it.',
  ],
  [],
)

/** `rxtrain print-config` over the given capabilities. */
export const runPrintConfig =
  (deps: RunDeps) =>
  async (argv: readonly string[], io: CliIO): Promise<number> => {
    const parsed = parseRunArgs(argv, [])
    if ('usage' in parsed) return printUsage(io, 'print-config', parsed.usage)
    if (parsed.args.help) {
      io.out(help)
      return EXIT.ok
    }
    const config = await configOf('print-config', parsed.args, deps, io)
    if (E.isLeft(config)) return config.left
    io.out(runConfigYaml(config.right).trimEnd())
    return EXIT.ok
  }

/** `rxtrain print-config`: the fully resolved config. */
export const printConfigCommand: Command = { name: 'print-config', summary: 'print the resolved config (files merged, overrides set, defaults filled in)', help, run: runPrintConfig(liveRunDeps) }
