/**
 * The terminal capability: where hooks print. `isTTY` tells whether control characters
 * (progress bars) are welcome.
 */
export interface Console {
  readonly isTTY: boolean
  out(line: string): void
  err(line: string): void
}

/** The process's stdout/stderr. */
export const liveConsole: Console = {
  isTTY: process.stdout.isTTY === true,
  out: (line) => {
    process.stdout.write(`${line}\n`)
  },
  err: (line) => {
    process.stderr.write(`${line}\n`)
  },
}

/** A console that records lines, for tests. */
export interface BufferConsole extends Console {
  readonly lines: readonly string[]
  readonly errors: readonly string[]
}

/** A console that records every line in `lines` (and `errors`) instead of printing it; `isTTY` is what hooks see. */
export const bufferConsole = (isTTY = false): BufferConsole => {
  const lines: string[] = []
  const errors: string[] = []
  return {
    isTTY,
    lines,
    errors,
    out: (line) => {
      lines.push(line)
    },
    err: (line) => {
      errors.push(line)
    },
  }
}
