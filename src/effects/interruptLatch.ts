import type { InterruptSignal, Signals } from './signals.js'

/** The first SIGINT/SIGTERM since the latch was set, for a loop that checks at its own points. */
export interface InterruptLatch {
  readonly signal: () => InterruptSignal | undefined
  /** Stops listening. */
  readonly close: () => void
}

export const interruptLatch = (signals: Signals): InterruptLatch => {
  let first: InterruptSignal | undefined
  const close = signals.onInterrupt((signal) => {
    first ??= signal
  })
  return { signal: () => first, close }
}
