import { Observable } from 'rxjs'
import type { InterruptSignal, Signals } from '../../signalTypes.js'

/** Signals closer together than this are one request (a launcher relaying the Ctrl-C it saw too). */
const DUPLICATE_WINDOW_MS = 1000

/** The next turn of Node's event loop (setImmediate: no 1 ms floor, unlike setTimeout). */
const nextTask = new Observable<void>((subscriber) => {
  const handle = setImmediate(() => {
    subscriber.next()
    subscriber.complete()
  })
  return () => clearImmediate(handle)
})

/** How often a synchronous loop yields to the event loop (a Ctrl-C waits at most about this long). */
const LET_IN_EVERY_MS = 100
let lastLetIn = performance.now()

/**
 * The process's signals. The first signal goes to the subscribed runs; another one a second or
 * more later, while the first is being handled, exits at once (status 130), as an impatient user
 * expects. Copies of the first that arrive sooner (npm and tsx relay signals to their children,
 * which the terminal has already signalled) are ignored.
 *
 * @example
 * const unsubscribe = effects.processSignals.onInterrupt((s) => console.error(`${s}: finishing the step`))
 * unsubscribe()
 * fit(module, { train, val }, {}, { signals: effects.processSignals }).subscribe()   // the default
 */
export const processSignals: Signals = {
  onInterrupt: (handler) => {
    let receivedAt: number | undefined
    const listener = (signal: InterruptSignal): void => {
      const now = Date.now()
      if (receivedAt !== undefined) {
        if (now - receivedAt < DUPLICATE_WINDOW_MS) return
        process.stderr.write(`\nrxtrain: second ${signal}, exiting now without saving.\n`)
        process.exit(130)
      }
      receivedAt = now
      handler(signal)
    }
    const onInt = (): void => listener('SIGINT')
    const onTerm = (): void => listener('SIGTERM')
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    return () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    }
  },
  letIn: () => {
    const now = performance.now()
    if (now - lastLetIn < LET_IN_EVERY_MS) return undefined
    lastLetIn = now
    return nextTask
  },
}
