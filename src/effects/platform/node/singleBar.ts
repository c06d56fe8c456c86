import { SingleBar as CliProgressBar } from 'cli-progress'
import type { SingleBarOptions } from '../singleBarTypes.js'

/**
 * One live progress bar on a terminal, in Node: cli-progress's, which draws with ANSI cursor
 * sequences on a TTY stream. The browser's `#platform/singleBar.js` is a small class with the
 * same constructor and the same `start`, `update` and `stop`.
 */

export type { SingleBarOptions, SingleBarParams } from '../singleBarTypes.js'

/** cli-progress's SingleBar, taking rxtrain's terminal capability as its stream. */
export class SingleBar extends CliProgressBar {
  constructor(options: SingleBarOptions) {
    super({ ...options, stream: options.stream as unknown as NodeJS.WritableStream })
  }
}
