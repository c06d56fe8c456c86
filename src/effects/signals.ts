import { Observable } from 'rxjs'

/**
 * The termination signals a run reacts to.
 *
 * @example
 * const signals = effects.manualSignals()
 * const stop = signals.onInterrupt((s: effects.InterruptSignal) => console.error(`got ${s}, saving and stopping`))
 * signals.raise('SIGTERM')
 * stop()
 */
export type InterruptSignal = 'SIGINT' | 'SIGTERM'

/**
 * The process-signal capability: a run subscribes while it trains, so that Ctrl-C (SIGINT) or a
 * scheduler's SIGTERM stops it at the next step boundary, with time to write a `last`
 * checkpoint and flush its logs, instead of killing it mid-write.
 *
 * @example
 * // a time limit as an interrupt: after an hour the run stops at a step boundary and checkpoints
 * const deadline: effects.Signals = {
 *   ...effects.processSignals,   // its letIn: the loop yields to the event loop, so the timer can fire
 *   onInterrupt: (h) => { const t = setTimeout(() => h('SIGTERM'), 3_600_000); return () => clearTimeout(t) },
 * }
 * fit(module, { train, val }, {}, { signals: deadline }).pipe(checkpoint()).subscribe()
 */
export interface Signals {
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onInterrupt(handler: (signal: InterruptSignal) => void): () => void
  /**
   * Something to wait for so that signals sent to the process can be delivered, or undefined
   * when no wait is due. A loop whose data is in memory runs synchronously from step to step;
   * Node delivers signals only between tasks, so the loop yields to the event loop now and then.
   */
  letIn?(): Observable<unknown> | undefined
}

/** Signals closer together than this are one request (a launcher relaying the Ctrl-C it saw too). */
const DUPLICATE_WINDOW_MS = 1000

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

/**
 * Signals that listen from the moment they are made and remember the first interrupt. A program
 * makes them before its slow start-up (loading data, starting a backend) and hands them to `fit`:
 * a Ctrl-C or SIGTERM that arrives before the run subscribes is then neither lost nor a kill in
 * the middle of start-up; the program can check `received()` between start-up steps, and a run
 * started afterwards sees the signal at once and stops before its first step. `close()` stops
 * listening (call it when the program is done, or listeners pile up on the process).
 *
 * @example
 * const signals = effects.latchedSignals()          // Ctrl-C counts from here on
 * const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()
 * if (signals.received() === undefined && E.isRight(arrays))
 *   await lastValueFrom(fit(module, data.mnistDataModule(arrays.right, { batchSize: 128 }), { maxEpochs: 3 }, { signals }).pipe(checkpoint()))
 * signals.close()
 */
export interface LatchedSignals extends Signals {
  /** The first SIGINT/SIGTERM since the signals were made, if any. */
  received(): InterruptSignal | undefined
  /** Stops listening to `base`. */
  close(): void
}

/**
 * Makes `LatchedSignals` over `base` (the process's signals by default): `onInterrupt` calls a
 * handler at once when a signal already came, and then on every later one, as `base` does.
 *
 * @example
 * const signals = effects.latchedSignals(effects.manualSignals())
 * signals.received()                                  // undefined
 * signals.close()
 */
export const latchedSignals = (base: Signals = processSignals): LatchedSignals => {
  let first: InterruptSignal | undefined
  const handlers = new Set<(signal: InterruptSignal) => void>()
  const close = base.onInterrupt((signal) => {
    first ??= signal
    for (const h of [...handlers]) h(signal)
  })
  return {
    onInterrupt: (handler) => {
      handlers.add(handler)
      if (first !== undefined) handler(first)
      return () => {
        handlers.delete(handler)
      }
    },
    letIn: () => base.letIn?.(),
    received: () => first,
    close,
  }
}

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
 * Signals that a test raises by hand.
 *
 * @example
 * const signals: effects.ManualSignals = effects.manualSignals()
 * fit(module, { train, val }, { maxEpochs: 100 }, { signals }).subscribe((e) => {
 *   if (e.type === 'trainStep' && e.globalStep === 10) signals.raise('SIGINT')
 *   if (e.type === 'fitEnd') console.log(e.reason)   // 'interrupted'
 * })
 */
export interface ManualSignals extends Signals {
  raise(signal: InterruptSignal): void
}

/**
 * Signals raised only by `raise('SIGINT')` and never yielded for: a run over in-memory data stays synchronous.
 *
 * @example
 * const signals = effects.manualSignals()
 * fit(module, { train, val }, { maxEpochs: 5 }, { signals })
 *   .pipe(tap((e) => { if (e.type === 'epochEnd' && e.epoch === 1) signals.raise('SIGINT') }), checkpoint())
 *   .subscribe()   // stops at the next step boundary, as on Ctrl-C; checkpoint saves a `last` one
 */
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
