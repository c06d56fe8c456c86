/**
 * An example as a program: what its `main` returns, its exit status, and how it reports errors
 * (one line for a bad command line, never a stack trace).
 */
import { type ExampleArgs, type ExampleSpec, parseCommandLine, resolveArgs, UsageError } from './cli.js'

/** The exit status of a usage error (as most command-line programs: 2). */
export const USAGE_EXIT = 2
/** The exit status of a run stopped by SIGINT or SIGTERM (either), as a shell reports Ctrl-C. */
export const INTERRUPTED_EXIT = 130

/** What an example's `main` ends with. */
export interface ExampleResult {
  /** `tested`: trained to the end, then tested; `interrupted`: stopped by a signal, not tested; `help`: printed the flags. */
  readonly outcome: 'tested' | 'interrupted' | 'help'
  /** Test accuracy (NaN unless tested). */
  readonly accuracy: number
  /** The run directory (none for help, or when interrupted before one was made). */
  readonly runDir: string | undefined
  readonly exitCode: number
}

export const helpResult: ExampleResult = { outcome: 'help', accuracy: Number.NaN, runDir: undefined, exitCode: 0 }

/**
 * An error as a program reports it: a bad flag (`UsageError`, or the `ConfigError` of a `--resume`
 * that names no checkpoint) as one line and status 2, anything else as its message (with its
 * remedy) and status 1. Never a stack trace.
 */
export const exitOnError = (name: string) => (e: unknown): void => {
  const tagged = (typeof e === 'object' && e !== null ? e : {}) as { readonly name?: unknown; readonly tag?: unknown; readonly problem?: unknown; readonly remedy?: unknown; readonly details?: { readonly field?: unknown } }
  if (e instanceof UsageError || (tagged.name === 'RxtrainError' && tagged.tag === 'ConfigError' && tagged.details?.field === 'resume')) {
    const line = e instanceof UsageError ? e.message : `${String(tagged.problem)}; ${String(tagged.remedy)}`
    console.error(`${name}: ${line} (--help lists the flags)`)
    process.exitCode = USAGE_EXIT
    return
  }
  console.error(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
}

/** Runs an example's `main` as the program: its arguments, its exit status, its errors as `exitOnError` says. */
export const runProgram = (spec: ExampleSpec, main: (argv: readonly string[]) => Promise<ExampleResult>): void => {
  main(process.argv.slice(2)).then((r) => {
    process.exitCode = r.exitCode
  }, exitOnError(spec.name))
}

/** An example's training run, as its `train.ts` exports it. */
type Train = (spec: ExampleSpec, args: ExampleArgs, argv: readonly string[]) => Promise<ExampleResult>

/**
 * An example's `main`: reads the command line first, so that `--help` and a bad flag answer
 * without loading TensorFlow.js, then loads the example's `train.ts` (`load`) and runs it.
 */
export const exampleMain =
  (spec: ExampleSpec, load: () => Promise<{ readonly train: Train }>) =>
  async (argv: readonly string[]): Promise<ExampleResult> => {
    const line = parseCommandLine(argv, spec)
    if ('help' in line) {
      console.log(line.help)
      return helpResult
    }
    const args = await resolveArgs(line.args)
    const { train } = await load()
    return train(spec, args, argv)
  }
