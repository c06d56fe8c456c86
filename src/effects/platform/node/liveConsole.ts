import type { Console } from '../../console.js'

/**
 * The process's stdout/stderr.
 *
 * @example
 * effects.liveConsole.out('training started')
 * fit(module, { train, val }, {}, { console: effects.liveConsole }).pipe(printMetrics()).subscribe()   // the default
 */
export const liveConsole: Console = {
  isTTY: process.stdout.isTTY === true,
  out: (line) => {
    process.stdout.write(`${line}\n`)
  },
  err: (line) => {
    process.stderr.write(`${line}\n`)
  },
}
