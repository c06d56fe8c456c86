import type { TerminalStream } from '../terminal.js'

// The progress bar's options, the same on both platforms (cli-progress's names): `#platform/singleBar.js` in Node is
// cli-progress's bar, in a browser a small class of rxtrain's.

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
  /** Redraws a second at most (cli-progress's default: 10). */
  readonly fps?: number
}
