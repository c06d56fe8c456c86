import { type Clock, systemClock } from './clock.js'
import { type Console, liveConsole } from './console.js'
import type { FileSystem } from './fileSystem.js'
import { nodeFileSystem } from './nodeFileSystem.js'
import { processSignals, type Signals } from './signals.js'

/**
 * The effect capabilities a run uses, as one record with a live default. Tests replace any of
 * them: `{ ...liveEnv, fs: memoryFileSystem(), clock: manualClock() }`.
 */
export interface Env {
  readonly fs: FileSystem
  readonly clock: Clock
  readonly console: Console
  readonly signals: Signals
}

export const liveEnv: Env = { fs: nodeFileSystem, clock: systemClock, console: liveConsole, signals: processSignals }
