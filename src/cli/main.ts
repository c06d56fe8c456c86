#!/usr/bin/env node
/**
 * The `rxtrain` command: `rxtrain <fit|validate|test|predict|print-config|sweep|report> ...`.
 * Dispatches to a subcommand by name; `rxtrain --help` lists them, `rxtrain <command> --help`
 * explains one. Errors are one message with a remedy, never a stack trace; the exit status is
 * 0 done, 1 failed, 2 a bad command line or config, 130 interrupted.
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { nearestName } from '../pipeline/nearestName.js'
import { type CliIO, type Command, EXIT } from './command.js'
import { testCommand, validateCommand } from './evaluateCommand.js'
import { fitCommand } from './fitCommand.js'
import { predictCommand } from './predictCommand.js'
import { printConfigCommand } from './printConfigCommand.js'
import { reportCommand } from './reportCommand.js'
import { sweepCommand } from './sweepCommand.js'

/** The subcommands, in the order `--help` lists them. */
export const commands: readonly Command[] = [fitCommand, validateCommand, testCommand, predictCommand, printConfigCommand, sweepCommand, reportCommand]

const overview = (): string => {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4
  return [
    'Usage: rxtrain <command> [flags]   (rxtrain <command> --help for its flags)',
    '',
    'Runs declared in config files (YAML, JSON or TypeScript with defineConfig), validated before they start.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Example: rxtrain fit --config examples/mnist-mlp/run.yaml --trainer.maxEpochs 1',
  ].join('\n')
}

/**
 * Runs `rxtrain` with its arguments (without `node` and the script) and answers the exit status.
 *
 * @example
 * const status = await runCli(['fit', '--config', 'run.yaml'], { out: console.log, err: console.error, cwd: process.cwd() })
 */
export const runCli = async (argv: readonly string[], io: CliIO, list: readonly Command[] = commands): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined) return runCli([rest[0], '--help'], io, list)
    io.out(overview())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '--version' || name === '-v') {
    const { rxtrainVersion } = await import('../effects/packageVersion.js')
    io.out(rxtrainVersion())
    return EXIT.ok
  }
  const command = list.find((c) => c.name === name)
  if (command === undefined) {
    const near = nearestName(name, list.map((c) => c.name))
    io.err(`rxtrain: unknown command '${name}'${near !== undefined ? `: did you mean '${near}'?` : ''} (rxtrain --help lists them)`)
    return EXIT.usage
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    // A command answers its errors itself; anything that escapes is still one line, not a stack.
    io.err(`rxtrain ${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`)
    return EXIT.failed
  }
}

const liveIO: CliIO = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`), cwd: process.cwd() }

/** Whether this file is the program (`rxtrain` is a symlink to it in node_modules/.bin). */
const isMain = (): boolean => {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href
  } catch {
    return false
  }
}

if (isMain())
  runCli(process.argv.slice(2), liveIO).then(
    (status) => {
      process.exitCode = status
    },
    () => {
      process.exitCode = EXIT.failed
    },
  )
