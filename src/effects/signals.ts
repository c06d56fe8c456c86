/** The termination signals a run reacts to. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM'

/**
 * The process-signal capability: a run subscribes while it trains, so that Ctrl-C (SIGINT) or a
 * scheduler's SIGTERM stops it at the next step boundary, with time to write a `last`
 * checkpoint and flush its logs, instead of killing it mid-write.
 */
export interface Signals {
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onInterrupt(handler: (signal: InterruptSignal) => void): () => void
}

/**
 * The process's signals. The first signal goes to the subscribed runs; a second one, while the
 * first is being handled, exits at once (status 130), as an impatient user expects.
 */
export const processSignals: Signals = {
  onInterrupt: (handler) => {
    let received = false
    const listener = (signal: InterruptSignal): void => {
      if (received) {
        process.stderr.write(`\nrxtrain: second ${signal}, exiting now without saving.\n`)
        process.exit(130)
      }
      received = true
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
}

/** Signals that a test raises by hand. */
export interface ManualSignals extends Signals {
  raise(signal: InterruptSignal): void
}

export const manualSignals = (): ManualSignals => {
  const handlers = new Set<(signal: InterruptSignal) => void>()
  return {
    onInterrupt: (handler) => {
      handlers.add(handler)
      return () => handlers.delete(handler)
    },
    raise: (signal) => {
      for (const h of [...handlers]) h(signal)
    },
  }
}
