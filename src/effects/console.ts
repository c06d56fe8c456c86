/**
 * The terminal capability: where hooks print. `isTTY` tells whether control characters
 * (progress bars) are welcome.
 *
 * @example
 * const tagged: effects.Console = { isTTY: false, out: (l) => console.log(`[run 1] ${l}`), err: (l) => console.error(`[run 1] ${l}`) }
 * fit(module, { train, val }, { maxEpochs: 3 }, { console: tagged }).pipe(printMetrics()).subscribe()
 */
export interface Console {
  readonly isTTY: boolean
  out(line: string): void
  err(line: string): void
}

/**
 * A console that records lines, for tests.
 *
 * @example
 * const out: effects.BufferConsole = effects.bufferConsole()
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, { console: out }).pipe(printMetrics()))
 * console.log(out.lines, out.errors)   // what printMetrics printed, nothing on stderr
 */
export interface BufferConsole extends Console {
  readonly lines: readonly string[]
  readonly errors: readonly string[]
}

/**
 * A console that records every line in `lines` (and `errors`) instead of printing it; `isTTY` is what hooks see.
 *
 * @example
 * const tty = effects.bufferConsole(true)   // hooks behave as on a terminal
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, { console: tty }).pipe(printMetrics()))
 * console.log(tty.lines.length)
 */
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
