import type { TextElement } from './pageConsole.js'
import type { TerminalStream } from './terminal.js'

/** ANSI control sequences (CSI: colours, cursor moves, line clears; OSC: titles, links) and other C0 controls but `\r` and `\n`. */
const CONTROL = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]|[\u0000-\u0009\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f]/g

/**
 * A terminal for a browser page, for a progress bar: the element shows the line being drawn,
 * as a terminal would: the text after the last `\r` or `\n`, ANSI sequences stripped (a line
 * ended by `\n` stays until the next one starts). A TTY 100 columns wide, so bars redraw in place.
 *
 * @example
 * const bar = document.querySelector('#progress')
 * if (bar !== null) fit(module, { train, val }, { maxEpochs: 3 }, { terminal: effects.pageTerminal(bar) }).pipe(progressBar()).subscribe()
 */
export const pageTerminal = (element: TextElement): TerminalStream => {
  let line = ''
  return {
    isTTY: true,
    columns: 100,
    write: (chunk) => {
      const [first = '', ...rest] = chunk.replace(CONTROL, '').split(/[\r\n]/)
      let shown: string | undefined
      line += first
      if (line !== '') shown = line
      for (const piece of rest) {
        line = piece
        if (line !== '') shown = line
      }
      if (shown !== undefined && shown !== element.textContent) element.textContent = shown
      return true
    },
  }
}
