/**
 * The clock capability: wall time for logs (`now`, ms since the Unix epoch) and a monotonic
 * reading for durations (`monotonic`, ms from an arbitrary origin).
 *
 * @example
 * const frozen: effects.Clock = { now: () => Date.parse('2024-01-01T00:00:00Z'), monotonic: () => performance.now() }
 * fit(module, { train, val }, { maxEpochs: 1 }, { clock: frozen }).subscribe()   // every log stamped 2024-01-01
 */
export interface Clock {
  now(): number
  monotonic(): number
}

/**
 * The live clock.
 *
 * @example
 * const t0 = effects.systemClock.monotonic()
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }))
 * console.log(`trained in ${effects.systemClock.monotonic() - t0} ms`)
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
}

/**
 * A clock that only moves when told to, for tests.
 *
 * @example
 * const clock: effects.ManualClock = effects.manualClock(0)
 * clock.advance(1500)
 * clock.now()   // 1500
 */
export interface ManualClock extends Clock {
  advance(ms: number): void
}

/**
 * A clock at `start` ms that moves only by `advance(ms)`: events stamped by it are deterministic.
 *
 * @example
 * const clock = effects.manualClock(Date.parse('2024-01-01T00:00:00Z'))
 * fit(module, { train, val }, { maxEpochs: 1 }, { clock }).subscribe()
 */
export const manualClock = (start = 0): ManualClock => {
  let t = start
  return {
    now: () => t,
    monotonic: () => t,
    advance: (ms) => {
      t += ms
    },
  }
}
