/**
 * The clock capability: wall time for logs (`now`, ms since the Unix epoch) and a monotonic
 * reading for durations (`monotonic`, ms from an arbitrary origin).
 */
export interface Clock {
  now(): number
  monotonic(): number
}

/** The live clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
}

/** A clock that only moves when told to, for tests. */
export interface ManualClock extends Clock {
  advance(ms: number): void
}

/** A clock at `start` ms that moves only by `advance(ms)`: events stamped by it are deterministic. */
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
