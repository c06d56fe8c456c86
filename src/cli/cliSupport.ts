import { basename, dirname, isAbsolute, relative, resolve } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { loadRunConfig } from '../config/loadConfig.js'
import type { ResolvedRunConfig } from '../config/runConfig.js'
import { isRxtrainError, messageOf } from '../errors/rxtrainError.js'
import { type CliIO, EXIT } from './command.js'
import type { RunArgs } from './runArgs.js'
import type { RunDeps } from './runDeps.js'

/** A path as the user should see it: relative to the working directory when inside it. */
export const shown = (io: CliIO, path: string): string => {
  const rel = relative(io.cwd, path)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

/**
 * Prints an error as the command's answer: `rxtrain fit: <problem>` and `How to fix: <remedy>`
 * for an RxtrainError, the first line of the message otherwise; never a stack trace. Returns the
 * exit status: 2 for a config error (the run never started or its declaration was wrong), else 1.
 */
export const printError = (io: CliIO, command: string, e: unknown): number => {
  if (isRxtrainError(e)) {
    io.err(`rxtrain ${command}: ${e.problem}`)
    io.err(`How to fix: ${e.remedy}`)
    return e.tag === 'ConfigError' ? EXIT.usage : EXIT.failed
  }
  io.err(`rxtrain ${command}: ${messageOf(e).split('\n')[0] ?? ''}`)
  return EXIT.failed
}

/** A usage error: one line naming the flag, and where the flags are listed. */
export const printUsage = (io: CliIO, command: string, problem: string): number => {
  io.err(`rxtrain ${command}: ${problem} (rxtrain ${command} --help lists the flags)`)
  return EXIT.usage
}

/** The config of a command line, or the exit status after printing why there is none. */
export const configOf = async (command: string, args: RunArgs, deps: RunDeps, io: CliIO): Promise<E.Either<number, ResolvedRunConfig>> => {
  if (args.configs.length === 0) return E.left(printUsage(io, command, 'no config given: name one with --config run.yaml'))
  const loaded = await loadRunConfig({ files: args.configs, overrides: args.overrides, cwd: io.cwd, fs: deps.env.fs, importFile: deps.importFile })
  return E.isLeft(loaded) ? E.left(printError(io, command, loaded.left)) : E.right(loaded.right)
}

/** A checkpoint path as `fit`/`test` take it: `last` and `best` stay run-relative, any other path is made absolute. */
export const absoluteCheckpoint = (cwd: string, ckptPath: string | undefined): string | undefined =>
  ckptPath === undefined || ckptPath === 'last' || ckptPath === 'best' ? ckptPath : resolve(cwd, ckptPath)

/**
 * The weights an evaluation (validate, test, predict) uses: `--ckpt-path` (or the config's
 * trainer.ckptPath): a checkpoint folder or pointer, or `best` / `last` of the run folder. The
 * run folder is `--run-dir`, else the folder of a `config.yaml` that `rxtrain fit` saved (it has
 * checkpoints beside it). Without a checkpoint named, the run folder's best (or last) is used.
 * A usage problem when nothing names the weights.
 */
export const evaluationWeights = async (
  io: CliIO,
  args: RunArgs,
  config: ResolvedRunConfig,
  deps: RunDeps,
): Promise<{ readonly ckptPath: string; readonly runDir: string | undefined } | { readonly usage: string }> => {
  const { fs } = deps.env
  const given = args.flags['run-dir']
  const [first] = args.configs
  const beside = first === undefined ? undefined : dirname(resolve(io.cwd, first))
  const runDir =
    given !== undefined
      ? resolve(io.cwd, given)
      : first !== undefined && beside !== undefined && basename(first) === 'config.yaml' && (await fs.exists(`${beside}/checkpoints`)())
        ? beside
        : undefined
  const named = args.flags['ckpt-path'] ?? config.trainer.ckptPath
  if (named === undefined) {
    if (runDir === undefined) return { usage: 'which weights? name a checkpoint with --ckpt-path PATH, or a run folder with --run-dir DIR (its best checkpoint, else its last)' }
    return { ckptPath: (await fs.exists(`${runDir}/checkpoints/best.json`)()) ? 'best' : 'last', runDir }
  }
  if ((named === 'best' || named === 'last') && runDir === undefined) return { usage: `--ckpt-path ${named} is the run folder's ${named} checkpoint: name the folder with --run-dir DIR` }
  return { ckptPath: absoluteCheckpoint(io.cwd, named) as string, runDir }
}
