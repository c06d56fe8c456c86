import { processSignals } from '#platform/processSignals.js'
import type { InterruptSignal, Signals } from './signalTypes.js'

export type { InterruptSignal, Signals } from './signalTypes.js'
export { processSignals }


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
