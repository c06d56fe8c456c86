/**
 * The terminal capability for live displays (progress bars): a writable text stream that may be
 * a TTY. Only what a bar needs: `write`, whether control characters are welcome (`isTTY`) and
 * the width (`columns`). Node's `tty.WriteStream` (`process.stderr`) is one; tests pass a
 * recording fake. Cursor movement is done by writing ANSI sequences through `write`, so the
 * cursor methods are optional.
 *
 * @example
 * const drawn: string[] = []
 * const terminal: effects.TerminalStream = { isTTY: true, columns: 80, write: (chunk) => drawn.push(chunk) > 0 }
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, { terminal }).pipe(progressBar()))
 * console.log(drawn.join(''))   // the bar's frames, ANSI sequences included
 */
export interface TerminalStream {
  write(chunk: string): boolean
  readonly isTTY?: boolean
  readonly columns?: number
  cursorTo?(x: number, y?: number, callback?: () => void): boolean
  clearLine?(dir: -1 | 0 | 1, callback?: () => void): boolean
  moveCursor?(dx: number, dy: number, callback?: () => void): boolean
}
