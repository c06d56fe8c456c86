import type { Program } from '../flow/drive.js'
import type { PhaseClock } from '../flow/phaseClock.js'

/**
 * How the loop times its phases on the run's phase clock, when a profiler is among the hooks (and
 * does nothing otherwise): `timed` around a synchronous part, `during` around a program that may
 * wait (its time, waits included, is the phase's).
 */
export const phaseTiming = (phases: PhaseClock | undefined) => ({
  timed: <T>(phase: string, f: () => T): T => (phases === undefined ? f() : phases.time(phase, f)),
  during: function* <T>(phase: string, program: Program<T>): Program<T> {
    const leave = phases?.enter(phase)
    try {
      return yield* program
    } finally {
      leave?.()
    }
  },
})
