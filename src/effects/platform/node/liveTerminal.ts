import type { TerminalStream } from '../../terminal.js'

/**
 * The process's stderr (where tqdm and cli-progress draw bars by default).
 *
 * @example
 * console.log(effects.liveTerminal.isTTY, effects.liveTerminal.columns)   // true 120 in a terminal; false undefined when piped
 * fit(module, { train, val }, {}, { terminal: effects.liveTerminal }).pipe(progressBar()).subscribe()   // the default
 */
export const liveTerminal: TerminalStream = process.stderr
