import type { TerminalStream } from '../../terminal.js'

/**
 * A page's default terminal: not a TTY, so a progress bar prints one line per epoch, to the
 * developer console (pages that draw a live bar pass `effects.pageTerminal(element)`).
 */
export const liveTerminal: TerminalStream = {
  isTTY: false,
  write: (chunk) => {
    const text = chunk.replace(/\n$/, '')
    if (text !== '') globalThis.console.log(text)
    return true
  },
}
