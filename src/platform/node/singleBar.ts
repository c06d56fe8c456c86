import { SingleBar as CliProgressBar } from 'cli-progress'
import type { TerminalStream } from '../../effects/terminal.js'

/**
 * One live progress bar on a terminal, in Node: cli-progress's, which draws with ANSI cursor
 * sequences on a TTY stream. The browser's `#platform/singleBar.js` is a small class with the
 * same constructor and the same `start`, `update` and `stop`.
 */

/** What the bar draws from: its value and total (the line itself comes from `format`). */
export interface SingleBarParams {
  readonly value: number
  readonly total: number
  /** value / total, in [0, 1]. */
  readonly progress: number
}

/** The options rxtrain passes (cli-progress's names; the same on both platforms). */
export interface SingleBarOptions {
  readonly stream: TerminalStream
  /** The whole line, from the latest payload given to `start` or `update`. */
  readonly format: (options: object, params: SingleBarParams, payload: { readonly line?: string }) => string
  /** Erase the line at `stop` (else it stays, and the cursor goes to the next line). */
  readonly clearOnComplete?: boolean
  readonly hideCursor?: boolean
  /** Stop the bar on SIGINT/SIGTERM (rxtrain stops it itself: false). */
  readonly gracefulExit?: boolean
}

/** cli-progress's SingleBar, taking rxtrain's terminal capability as its stream. */
export class SingleBar extends CliProgressBar {
  constructor(options: SingleBarOptions) {
    super({ ...options, stream: options.stream as unknown as NodeJS.WritableStream })
  }
}
