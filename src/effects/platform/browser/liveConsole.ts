import type { Console } from '../../console.js'

/**
 * A page's console: the browser's developer console (pages that show lines use
 * `effects.pageConsole(element)`). It counts as a TTY, as a page is interactive: a progress bar
 * draws live when the run's terminal is one (`effects.pageTerminal(element)`).
 */
export const liveConsole: Console = {
  isTTY: true,
  out: (line) => globalThis.console.log(line),
  err: (line) => globalThis.console.error(line),
}
