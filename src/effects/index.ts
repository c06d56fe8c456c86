/**
 * The capabilities a run touches the world through, and their live and test instances: a file
 * system (`nodeFileSystem`, `memoryFileSystem`), a clock (`systemClock`, `manualClock`), a console
 * (`liveConsole`, `bufferConsole`), interrupt signals (`processSignals`, `manualSignals`, `latchedSignals`), a
 * terminal for progress bars (`liveTerminal`), process facts for run metadata (`liveProcessInfo`,
 * `fixedProcessInfo`), plus the run-directory helpers `nextVersionDir` / `latestVersionDir` / `versionDirs` and
 * `packageFile`. In a browser page: `browserFileSystem` (OPFS, else IndexedDB: `opfsFileSystem`,
 * `indexedDbFileSystem`), `fetchFileSystem` (read-only, over HTTP), `zipFolder` / `downloadZip`,
 * `pageSignals`, `pageConsole`, `pageTerminal`. Pass any of them in a run's environment (`fit(..., env)`); what is left out is
 * taken from `liveEnv`. The package root re-exports this module as `effects`.
 *
 * @example
 * import { effects, fit } from 'rxtrain'
 * const fs = effects.memoryFileSystem()
 * fit(module, { train, val }, { maxEpochs: 1 }, { fs, clock: effects.manualClock(0), signals: effects.manualSignals() })
 */
export type { Clock, ManualClock } from './clock.js'
export { manualClock, systemClock } from './clock.js'
export type { BufferConsole, Console } from './console.js'
export { bufferConsole } from './console.js'
export { liveConsole } from '#platform/liveConsole.js'
export type { FileError, FileSystem } from './fileSystem.js'
export type { MemoryFileSystem } from './memoryFileSystem.js'
export { memoryFileSystem } from './memoryFileSystem.js'
export { nodeFileSystem } from './nodeFileSystem.js'
export { packageFile } from './packageFile.js'
export type { ProcessInfo } from './processInfo.js'
export { fixedProcessInfo } from './processInfo.js'
export { liveProcessInfo } from '#platform/liveProcessInfo.js'
export type { InterruptSignal, LatchedSignals, ManualSignals, Signals } from './signals.js'
export { latchedSignals, manualSignals, processSignals } from './signals.js'
export type { TerminalStream } from './terminal.js'
export { liveTerminal } from '#platform/liveTerminal.js'
export { latestVersionDir, nextVersionDir, versionDirs } from './versionDir.js'
export { browserFileSystem } from './browserFileSystem.js'
export { fetchFileSystem } from './fetchFileSystem.js'
export { indexedDbFileSystem } from './indexedDbFileSystem.js'
export { opfsFileSystem } from './opfsFileSystem.js'
export { pageConsole } from './pageConsole.js'
export { pageSignals } from './pageSignals.js'
export { pageTerminal } from './pageTerminal.js'
export { downloadZip, zipFolder } from './zipFolder.js'
