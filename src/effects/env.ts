import { liveConsole } from '#platform/liveConsole.js'
import { liveFileSystem } from '#platform/liveFileSystem.js'
import { liveProcessInfo } from '#platform/liveProcessInfo.js'
import { liveSignals } from '#platform/liveSignals.js'
import { liveTerminal } from '#platform/liveTerminal.js'
import { type Clock, systemClock } from './clock.js'
import type { Console } from './console.js'
import type { FileSystem } from './fileSystem.js'
import type { ProcessInfo } from './processInfo.js'
import type { Signals } from './signalTypes.js'
import type { TerminalStream } from './terminal.js'

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
 * The live capabilities. In Node: the disk, the system clock, the process's console, signals, stderr and host name and
 * pid. In a browser bundle (the package's `browser` condition): the Origin Private File System (IndexedDB where it is
 * missing), the clock, the developer console, `pagehide` as the interrupt, and the page's host name.
 *
 * @example
 * const quiet: Env = { ...liveEnv, console: effects.bufferConsole() }   // live files, clock and signals; lines kept
 * fit(module, { train, val }, { maxEpochs: 1 }, quiet).pipe(printMetrics()).subscribe()
 * liveEnv.clock.now()   // Date.now()
 */
export const liveEnv: Env = { fs: liveFileSystem, clock: systemClock, console: liveConsole, signals: liveSignals, terminal: liveTerminal, processInfo: liveProcessInfo }
