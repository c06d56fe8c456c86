import { commandWith, type ExampleSpec } from './cli.js'
import { type ExampleResult, INTERRUPTED_EXIT } from './program.js'

/** Where a signal stopped an example. */
export interface Interruption {
  readonly signal: string
  /** The run directory, when one was made or resumed. */
  readonly runDir: string | undefined
  /** The global step it stopped at, when a training step ran in this process; undefined before the first. */
  readonly stoppedAt: number | undefined
  /** Whether a `last` checkpoint now holds the run (the checkpoint hook writes one on an interrupt). */
  readonly saved: boolean
  /** Whether the run continued an earlier one (`--resume`). */
  readonly resumed: boolean
}

/**
 * Says what a SIGINT or SIGTERM left behind and how to go on, and returns the example's result
 * (status 130, not tested: a half-trained model's accuracy would mislead).
 */
export const reportInterruption = (spec: ExampleSpec, argv: readonly string[], i: Interruption): ExampleResult => {
  // A new run stopped before its first step has nothing worth resuming: it starts again as well.
  const resume = i.saved && i.runDir !== undefined && (i.stoppedAt !== undefined || i.resumed)
  const what =
    i.stoppedAt !== undefined
      ? `stopped at step ${i.stoppedAt}${resume ? ` and saved ${i.runDir}/checkpoints/last` : ''}; no test of a half-trained model`
      : `interrupted before the first step; nothing was trained${i.runDir === undefined ? ' or written' : ''}`
  console.log(`\n${i.signal} received: ${what}.`)
  console.log(resume ? `Resume with: ${commandWith(spec, argv, i.runDir)}` : `Start again with: ${commandWith(spec, argv)}`)
  return { outcome: 'interrupted', accuracy: Number.NaN, runDir: i.runDir, exitCode: INTERRUPTED_EXIT }
}
