import { type Clock, systemClock } from './clock.js'
import { type Console, liveConsole } from './console.js'
import type { FileSystem } from './fileSystem.js'
import { nodeFileSystem } from './nodeFileSystem.js'
import { liveProcessInfo, type ProcessInfo } from './processInfo.js'
import { processSignals, type Signals } from './signals.js'
import { liveTerminal, type TerminalStream } from './terminal.js'

/**
 * The effect capabilities a run uses, as one record with a live default. Tests replace any of
 * them: `{ ...liveEnv, fs: memoryFileSystem(), clock: manualClock() }`. A run resolves it once and every
 * hook placed after the run uses the run's: no hook has live effects of its own.
 *
 * @example
 * const env: Env = { ...liveEnv, fs: effects.memoryFileSystem(), clock: effects.manualClock(0) }
 * await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }, env).pipe(csvLogger({ dir: 'logs' })))
 * await env.fs.readText('logs/metrics.csv')()   // Right('epoch,step,val/loss\n0,3,0.4879\n'), from memory, not disk
 */
export interface Env {
  readonly fs: FileSystem
  readonly clock: Clock
  readonly console: Console
  readonly signals: Signals
  /** Where live displays (progress bars) draw. */
  readonly terminal: TerminalStream
  /** Who writes: the host name and pid that loggers put in file names (TensorBoard's event files). */
  readonly processInfo: ProcessInfo
}

/**
 * The live capabilities: the node file system, the system clock, the process's console, signals, stderr and host name and pid.
 *
 * @example
 * const quiet: Env = { ...liveEnv, console: effects.bufferConsole() }   // live files, clock and signals; lines kept
 * fit(module, { train, val }, { maxEpochs: 1 }, quiet).pipe(printMetrics()).subscribe()
 * liveEnv.clock.now()   // Date.now()
 */
export const liveEnv: Env = { fs: nodeFileSystem, clock: systemClock, console: liveConsole, signals: processSignals, terminal: liveTerminal, processInfo: liveProcessInfo }
