import { Observable } from 'rxjs'
import type { InterruptSignal, ManualSignals } from './signals.js'

/** How often a synchronous loop yields to the page (clicks and frames wait at most about this long). */
const LET_IN_EVERY_MS = 50

type Port = { onmessage: ((event: unknown) => void) | null; postMessage(message: unknown): void; close(): void }

/**
 * Completes after one macrotask: a message through a fresh MessageChannel, which the browser
 * delivers as a task of its own without `setTimeout`'s 4 ms clamp on nested timers (React's
 * scheduler yields the same way). Between two tasks the page renders when a frame is due and
 * delivers input events, such as a click on a stop button.
 */
export const nextMacrotask = new Observable<void>((subscriber) => {
  const Channel = (globalThis as { MessageChannel?: new () => { port1: Port; port2: Port } }).MessageChannel
  if (Channel === undefined) {
    const handle = setTimeout(() => {
      subscriber.next()
      subscriber.complete()
    }, 0)
    return () => clearTimeout(handle)
  }
  const channel = new Channel()
  channel.port1.onmessage = () => {
    subscriber.next()
    subscriber.complete()
  }
  channel.port2.postMessage(undefined)
  // Closed ports: nothing keeps Node's event loop alive, nothing is delivered after unsubscribing.
  return () => {
    channel.port1.close()
    channel.port2.close()
  }
})

/** What pageSignals listens on: the page's window (`pagehide`) and document (`visibilitychange`). */
type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

/**
 * Interrupt signals of a browser page, the page's SIGTERM: `pagehide` (the tab is closed,
 * reloaded or navigated away) and, unless `hidden: false`, the page turning hidden (another tab,
 * a minimised window, a phone's lock screen) raise `'SIGTERM'`, so the run stops at the next step
 * boundary and a `checkpoint({ saveLast: true })` saves `last` to resume from; each run hears
 * the page's lifecycle once. `raise('SIGINT')` is for a stop button. Listeners are added when a
 * run subscribes (`onInterrupt`) and removed when it ends. `letIn()` makes a run over in-memory
 * data, which steps synchronously, yield to the page every ~50 ms, so it paints and clicks land.
 *
 * A page gets little time after `pagehide`: the save may not finish there, which is why the page
 * turning hidden (which comes first, while the page still runs) stops it too by default.
 * `window` and `document` default to the page's; tests pass fakes.
 *
 * @example
 * const signals = effects.pageSignals()
 * document.querySelector('#stop')?.addEventListener('click', () => signals.raise('SIGINT'))
 * fit(module, { train, val }, { maxEpochs: 10 }, { signals, fs: effects.browserFileSystem() }).pipe(checkpoint({ saveLast: true })).subscribe()
 */
export const pageSignals = (
  options: {
    readonly hidden?: boolean
    readonly window?: Target
    readonly document?: Target & { readonly visibilityState: string }
  } = {},
): ManualSignals => {
  const handlers = new Set<(signal: InterruptSignal) => void>()
  let lastLetIn = performance.now()
  return {
    onInterrupt: (handler) => {
      const win: Target | undefined = options.window ?? (typeof globalThis.addEventListener === 'function' ? globalThis : undefined)
      const doc = options.document ?? (globalThis.document as Document | undefined)
      let heard = false
      const lifecycle = (): void => {
        if (heard) return
        heard = true
        handler('SIGTERM')
      }
      const visibility = (): void => {
        if (doc?.visibilityState === 'hidden') lifecycle()
      }
      win?.addEventListener('pagehide', lifecycle)
      if (options.hidden !== false) doc?.addEventListener('visibilitychange', visibility)
      handlers.add(handler)
      return () => {
        win?.removeEventListener('pagehide', lifecycle)
        doc?.removeEventListener('visibilitychange', visibility)
        handlers.delete(handler)
      }
    },
    raise: (signal) => {
      for (const h of [...handlers]) h(signal)
    },
    letIn: () => {
      const now = performance.now()
      if (now - lastLetIn < LET_IN_EVERY_MS) return undefined
      lastLetIn = now
      return nextMacrotask
    },
  }
}
