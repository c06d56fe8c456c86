/**
 * The browser's progress bar class (src/effects/platform/browser/singleBar.ts), run in Node: it draws
 * what cli-progress draws (the same final screen, read through a small terminal model), only
 * with `'\r'` and erases that a page terminal understands, at most 10 times a second; and the
 * progressBar hook, given it in place of cli-progress's, leaves the same epoch lines.
 */
import { SingleBar as CliProgressBar } from 'cli-progress'
import { afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import type { TerminalStream } from '../../src/effects/terminal.js'
import { progressBar } from '../../src/hooks/progressBar.js'
import { fit } from '../../src/pipeline/fit.js'
import { SingleBar as BrowserBar, type SingleBarOptions as BrowserOptions } from '../../src/effects/platform/browser/singleBar.js'
import type { SingleBar as NodeBar, SingleBarOptions as NodeOptions } from '../../src/effects/platform/node/singleBar.js'
import { quiet, useBackend } from '../support/backend.js'
import { runSync } from '../support/run.js'
import { lineModule, tinyData } from '../support/tiny.js'

// The hook draws with the browser's class here, as it does in a browser bundle.
vi.mock('#platform/singleBar.js', async () => await import('../../src/effects/platform/browser/singleBar.js'))

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})
afterEach(() => vi.useRealTimers())

const recorder = (isTTY = true) => {
  const chunks: string[] = []
  const stream: TerminalStream = { isTTY, columns: 120, write: (s) => chunks.push(s) > 0 }
  return { stream, chunks, text: () => chunks.join('') }
}

/** The lines a terminal shows after `text`: '\r', '\n', cursor column, erases, cursor save/restore; other sequences ignored. */
const screen = (text: string): string[] => {
  const lines = ['']
  let [row, col] = [0, 0]
  let saved = [0, 0] as [number, number]
  for (const token of text.match(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|\r|\n|[^\x1b\r\n]+/g) ?? []) {
    const line = lines[row] as string
    if (token === '\r' || token === '\x1b[1G' || token === '\x1b[G') col = 0
    else if (token === '\n') {
      ;[row, col] = [row + 1, 0]
      lines[row] ??= ''
    } else if (token === '\x1b[K' || token === '\x1b[0K') lines[row] = line.slice(0, col)
    else if (token === '\x1b[2K') lines[row] = ''
    else if (token === '\x1b7') saved = [row, col]
    else if (token === '\x1b8') [row, col] = saved
    else if (!token.startsWith('\x1b')) {
      lines[row] = line.slice(0, col).padEnd(col) + token + line.slice(col + token.length)
      col += token.length
    }
  }
  return lines
}

const lineOf = (_o: object, _p: unknown, payload: { readonly line?: string }): string => payload.line ?? ''

/** A sanity-check bar that disappears, then two epochs' bars that stay: what the hook does. */
const drive = (make: (o: NodeOptions) => Pick<NodeBar, 'start' | 'update' | 'stop'>, stream: TerminalStream): void => {
  const sanity = make({ stream, format: lineOf, clearOnComplete: true, hideCursor: false, gracefulExit: false })
  sanity.start(2, 0, { line: 'sanity check 0/2' })
  sanity.update(2, { line: 'sanity check 2/2' })
  sanity.stop()
  const train = make({ stream, format: lineOf, clearOnComplete: false, hideCursor: false, gracefulExit: false })
  for (const epoch of [1, 2]) {
    train.start(5, 0, { line: `epoch ${epoch}/2 0/5 a much longer line at first` })
    for (let i = 1; i <= 5; i += 1) train.update(i, { line: `epoch ${epoch}/2 ${i}/5` })
    train.stop()
  }
}

describe("the browser's SingleBar", () => {
  it('has the constructor and methods the hook uses of cli-progress (types)', () => {
    expectTypeOf<NodeOptions>().toExtend<BrowserOptions>()
    expectTypeOf<BrowserBar>().toExtend<Pick<NodeBar, 'start' | 'update' | 'stop'>>()
  })

  it("leaves the screen cli-progress leaves, with only '\\r' and erases (no cursor save, no wrap control)", () => {
    const [node, browser] = [recorder(), recorder()]
    drive((o) => new CliProgressBar({ ...o, stream: o.stream as unknown as NodeJS.WritableStream }), node.stream)
    drive((o) => new BrowserBar(o), browser.stream)
    expect(screen(browser.text())).toEqual(['epoch 1/2 5/5', 'epoch 2/2 5/5', ''])
    expect(screen(browser.text())).toEqual(screen(node.text()))
    expect(new Set(browser.text().match(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g))).toEqual(new Set(['\x1b[K', '\x1b[2K']))
  })

  it('redraws at most 10 times a second, the latest line when the pause ends, and only when the line changed', () => {
    vi.useFakeTimers({ now: 0 })
    const term = recorder()
    const bar = new BrowserBar({ stream: term.stream, format: lineOf })
    bar.start(10, 0, { line: 'a' })
    bar.update(1, { line: 'b' })
    bar.update(2, { line: 'c' })
    expect(term.chunks).toEqual(['\ra\x1b[K'])
    vi.advanceTimersByTime(100)
    expect(term.chunks).toEqual(['\ra\x1b[K', '\rc\x1b[K'])
    vi.advanceTimersByTime(500)
    bar.update(3, { line: 'c' })
    bar.update(4, {})
    bar.stop()
    expect(term.chunks).toEqual(['\ra\x1b[K', '\rc\x1b[K', '\n'])
    bar.update(5, { line: 'after stop' })
    vi.runAllTimers()
    expect(term.chunks).toHaveLength(3)
  })

  it("takes cli-progress's update(payload), and erases its line at stop with clearOnComplete", () => {
    const term = recorder()
    const bar = new BrowserBar({ stream: term.stream, format: (_o, p, payload) => `${payload.line} ${p.value}/${p.total}`, clearOnComplete: true, fps: 1000 })
    bar.start(4, 1, { line: 'x' })
    bar.update({ line: 'y' })
    bar.stop()
    expect(term.chunks).toEqual(['\rx 1/4\x1b[K', '\ry 1/4\x1b[K', '\r\x1b[2K'])
    expect(screen(term.text())).toEqual([''])
  })

  it('draws nothing on a stream that is not a TTY (as cli-progress)', () => {
    const term = recorder(false)
    const bar = new BrowserBar({ stream: term.stream, format: lineOf })
    bar.start(2, 0, { line: 'a' })
    bar.update(2, { line: 'b' })
    bar.stop()
    expect(term.chunks).toEqual([])
  })

  it('the progressBar hook with it leaves one line per epoch, the sanity check erased', () => {
    const term = recorder()
    const clock = manualClock(1_000_000)
    const run = fit(lineModule(), tinyData(5, 2), { maxEpochs: 2 }, { backend, clock, signals: quiet, console: bufferConsole(true), terminal: term.stream })
    runSync(run.pipe(progressBar()))
    expect(term.text()).toContain('sanity check')
    const shown = screen(term.text())
    expect(shown).toHaveLength(3)
    expect(shown[0]).toMatch(/^epoch 1\/2 █{25} 5\/5 · .* · loss \d\.\d{4} · val\/loss \d\.\d{4}$/)
    expect(shown[1]).toMatch(/^epoch 2\/2 █{25} 5\/5 · .* · loss \d\.\d{4} · val\/loss \d\.\d{4}$/)
    expect(term.text()).not.toContain('\x1b[?7l')
  })
})
