/**
 * One subcommand of the `rxtrain` command (`fit`, `sweep`, `report`, ...): its help text and a
 * run that answers an exit status. The dispatcher (main.ts) picks one by name; tests call `run`
 * directly with their own `CliIO`.
 */
export interface CliIO {
  /** A line to standard output (results, tables, `--help`). */
  readonly out: (line: string) => void
  /** A line to standard error (errors, warnings). */
  readonly err: (line: string) => void
  /** The directory that relative paths on the command line are relative to. */
  readonly cwd: string
}

/** Exit statuses: 0 done, 1 a run failed, 2 a bad command line or config, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const

export interface Command {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** The whole `--help` text. */
  readonly help: string
  readonly run: (argv: readonly string[], io: CliIO) => Promise<number>
}
