import type { Console } from '../../effects/console.js'

/** A page's console: the browser's developer console (pages that show lines use `effects.pageConsole(element)`). */
export const liveConsole: Console = {
  isTTY: false,
  out: (line) => globalThis.console.log(line),
  err: (line) => globalThis.console.error(line),
}
