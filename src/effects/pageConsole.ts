import type { Console } from './console.js'

/** An element a page shows text in: any `HTMLElement` (a `<pre>` reads best); tests pass `{ textContent: '' }`. */
export type TextElement = { textContent: string | null; scrollTop?: number; readonly scrollHeight?: number }

/** How many lines the page keeps showing: a long run's log must not grow the page without bound. */
const KEPT_LINES = 200

/**
 * A console for a browser page: every line goes to the devtools console (`out` as
 * `console.log`, `err` as `console.warn`: rxtrain's stderr carries warnings and notices, and
 * failures reach the page as stream errors, so a page's own error checks stay meaningful) and,
 * when `element` is given, to the page: its text is the last 200 lines, scrolled to the end.
 * It counts as a TTY (a page is interactive), so a progress bar draws live wherever the run's
 * terminal is one (`effects.pageTerminal(element)`), and prints plain lines otherwise.
 *
 * @example
 * const log = document.querySelector('pre#log')
 * const pageLog = effects.pageConsole(log ?? undefined)
 * fit(module, { train, val }, { maxEpochs: 3 }, { console: pageLog }).pipe(printMetrics()).subscribe()
 */
export const pageConsole = (element?: TextElement): Console => {
  const lines: string[] = []
  const show = (line: string): void => {
    if (element === undefined) return
    lines.push(line)
    if (lines.length > KEPT_LINES) lines.splice(0, lines.length - KEPT_LINES)
    element.textContent = lines.join('\n')
    if (element.scrollHeight !== undefined) element.scrollTop = element.scrollHeight
  }
  return {
    isTTY: true,
    out: (line) => {
      globalThis.console.log(line)
      show(line)
    },
    err: (line) => {
      globalThis.console.warn(line)
      show(line)
    },
  }
}
