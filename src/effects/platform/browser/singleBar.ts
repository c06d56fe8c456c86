import type { SingleBarOptions } from '../singleBarTypes.js'

/**
 * One live progress bar on a terminal, in a browser, where cli-progress cannot go (it needs
 * Node's readline and process). It draws what cli-progress would on rxtrain's `TerminalStream`
 * (e.g. `effects.pageTerminal`): `'\r'`, the line `format` makes, and an erase to the end of
 * the line, at most `fps` times a second (the latest line is drawn when the pause ends), and
 * always at `start` and `stop`. A stream that is not a TTY gets nothing, as with cli-progress.
 */

export type { SingleBarOptions, SingleBarParams } from '../singleBarTypes.js'

/** Erase from the cursor to the end of the line (a page terminal strips it; a real one obeys it). */
const ERASE_RIGHT = '\x1b[K'
const ERASE_LINE = '\x1b[2K'

/** cli-progress's SingleBar, as much of it as rxtrain uses, on `'\r'` and the stream's `write`. */
export class SingleBar {
  private value = 0
  private total = 0
  private payload: Readonly<Record<string, unknown>> = {}
  private active = false
  private drawn: string | undefined
  private lastDraw = Number.NEGATIVE_INFINITY
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly pauseMs: number

  constructor(private readonly options: SingleBarOptions) {
    this.pauseMs = 1000 / (options.fps ?? 10)
  }

  /** Shows the bar at `startValue` of `total` (a fresh line's worth: the last drawn text is forgotten). */
  start(total: number, startValue: number, payload?: object): void {
    if (this.options.stream.isTTY !== true) return
    this.total = total >= 0 ? total : 100
    this.value = startValue
    this.payload = { ...payload }
    this.active = true
    this.drawn = undefined
    this.draw()
  }

  /** Moves the bar (`update(value, payload?)` or `update(payload)`, as cli-progress); drawn now, or when the pause since the last draw ends. */
  update(value: number | object, payload?: object): void {
    if (!this.active) return
    if (typeof value === 'number') this.value = value
    this.payload = { ...this.payload, ...(typeof value === 'number' ? payload : value) }
    const wait = this.lastDraw + this.pauseMs - Date.now()
    if (wait <= 0) this.draw()
    else this.timer ??= setTimeout(() => this.draw(), wait)
  }

  /** Draws the final state, then leaves the line (or erases it, with `clearOnComplete`). */
  stop(): void {
    if (!this.active) return
    this.draw()
    this.active = false
    this.options.stream.write(this.options.clearOnComplete === true ? `\r${ERASE_LINE}` : '\n')
  }

  private draw(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const progress = this.total > 0 ? Math.min(Math.max(this.value / this.total, 0), 1) : 1
    const line = this.options.format(this.options, { value: this.value, total: this.total, progress }, this.payload as { readonly line?: string })
    this.lastDraw = Date.now()
    if (line === this.drawn) return
    this.drawn = line
    this.options.stream.write(`\r${line}${ERASE_RIGHT}`)
  }
}
