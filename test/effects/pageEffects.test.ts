import { firstValueFrom } from 'rxjs'
import { describe, expect, it, vi } from 'vitest'
import { pageConsole } from '../../src/effects/pageConsole.js'
import { nextMacrotask, pageSignals } from '../../src/effects/pageSignals.js'
import { pageTerminal } from '../../src/effects/pageTerminal.js'
import type { InterruptSignal } from '../../src/effects/signals.js'

// The page capabilities against fake targets (Node has EventTarget); browserCapabilities.test.ts
// runs them once in Chromium.
const fakePage = () => {
  const window = new EventTarget()
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' })
  const hide = () => {
    document.visibilityState = 'hidden'
    document.dispatchEvent(new Event('visibilitychange'))
  }
  const show = () => {
    document.visibilityState = 'visible'
    document.dispatchEvent(new Event('visibilitychange'))
  }
  return { window, document, hide, show, pagehide: () => window.dispatchEvent(new Event('pagehide')) }
}

describe('pageSignals', () => {
  it('pagehide and the page turning hidden are a SIGTERM, heard once per run; raise is a stop button', () => {
    const page = fakePage()
    const signals = pageSignals({ window: page.window, document: page.document })
    const got: InterruptSignal[] = []
    const stop = signals.onInterrupt((s) => got.push(s))
    page.show()
    expect(got).toEqual([])
    page.hide()
    expect(got).toEqual(['SIGTERM'])
    page.show()
    page.hide()
    page.pagehide()
    expect(got).toEqual(['SIGTERM'])
    signals.raise('SIGINT')
    expect(got).toEqual(['SIGTERM', 'SIGINT'])
    stop()
    // The next run hears the page again.
    const next: InterruptSignal[] = []
    const stopNext = signals.onInterrupt((s) => next.push(s))
    page.pagehide()
    expect(next).toEqual(['SIGTERM'])
    stopNext()
  })

  it('the disposer removes the listeners; hidden: false listens to pagehide only', () => {
    const page = fakePage()
    const got: InterruptSignal[] = []
    const stop = pageSignals({ window: page.window, document: page.document }).onInterrupt((s) => got.push(s))
    stop()
    page.hide()
    page.pagehide()
    const spy = vi.spyOn(page.document, 'addEventListener')
    const keep = pageSignals({ hidden: false, window: page.window, document: page.document })
    const stopKeep = keep.onInterrupt((s) => got.push(s))
    expect(spy).not.toHaveBeenCalled()
    page.show()
    page.hide()
    expect(got).toEqual([])
    page.pagehide()
    expect(got).toEqual(['SIGTERM'])
    stopKeep()
    keep.raise('SIGINT')
    expect(got).toEqual(['SIGTERM'])
  })

  it('letIn yields about every 50 ms, and its wait is one macrotask', async () => {
    vi.useFakeTimers({ toFake: ['performance'] })
    try {
      const signals = pageSignals({ window: new EventTarget() })
      expect(signals.letIn?.()).toBeUndefined()
      vi.advanceTimersByTime(30)
      expect(signals.letIn?.()).toBeUndefined()
      vi.advanceTimersByTime(25)
      expect(signals.letIn?.()).toBe(nextMacrotask)
      expect(signals.letIn?.()).toBeUndefined()
    } finally {
      vi.useRealTimers()
    }
    // A macrotask: not done synchronously nor after the microtasks; done after one turn; nothing after unsubscribing.
    let done = 0
    const sub = nextMacrotask.subscribe({ complete: () => done++ })
    await Promise.resolve()
    await Promise.resolve()
    expect(done).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(done).toBe(1)
    sub.unsubscribe()
    const cancelled = nextMacrotask.subscribe({ complete: () => done++ })
    cancelled.unsubscribe()
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(done).toBe(1)
    await firstValueFrom(nextMacrotask)
  })
})

describe('pageConsole', () => {
  it('prints to the devtools console (err as a warning) and keeps the last 200 lines in the element', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      const element = { textContent: '' as string | null, scrollTop: 0, scrollHeight: 1234 }
      const c = pageConsole(element)
      expect(c.isTTY).toBe(true)
      c.out('epoch 0')
      c.err('rxtrain warning: x')
      expect(element.textContent).toBe('epoch 0\nrxtrain warning: x')
      expect(element.scrollTop).toBe(1234)
      for (let i = 0; i < 300; i++) c.out(`line ${i}`)
      const lines = (element.textContent ?? '').split('\n')
      expect(lines.length).toBe(200)
      expect(lines[0]).toBe('line 100')
      expect(lines.at(-1)).toBe('line 299')
      expect(log).toHaveBeenCalledWith('epoch 0')
      expect(warn).toHaveBeenCalledWith('rxtrain warning: x')
      pageConsole().out('devtools only')
      expect(log).toHaveBeenLastCalledWith('devtools only')
    } finally {
      log.mockRestore()
      warn.mockRestore()
    }
  })
})

describe('pageTerminal', () => {
  it('shows the line being drawn: after the last \\r or \\n, ANSI stripped; a finished line stays', () => {
    const element = { textContent: '' as string | null }
    const t = pageTerminal(element)
    expect(t.isTTY).toBe(true)
    expect(t.columns).toBe(100)
    t.write('\r\u001b[2K\u001b[32mepoch 1\u001b[39m |██  | 10/40')
    expect(element.textContent).toBe('epoch 1 |██  | 10/40')
    t.write('\r\u001b[0Kepoch 1 |███ | 30')
    t.write('/40')
    expect(element.textContent).toBe('epoch 1 |███ | 30/40')
    t.write('\u001b]0;title\u0007\repoch 1 |████| 40/40\n')
    expect(element.textContent).toBe('epoch 1 |████| 40/40')
    t.write('\u001b[?25h')
    expect(element.textContent).toBe('epoch 1 |████| 40/40')
    t.write('a\nb\rc')
    expect(element.textContent).toBe('c')
  })
})
