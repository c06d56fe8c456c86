import { spawn as spawnChild } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** How a child process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  readonly code: number | null
  readonly signal: string | null
}

/** A started child process. */
export interface ChildHandle {
  readonly pid: number | undefined
  /** Settles once the process has ended (never rejects: a failed start is an exit with code 127). */
  readonly exited: Promise<ProcessExit>
  /** Sends a signal (a no-op once the process has ended). */
  kill(signal: 'SIGINT' | 'SIGTERM' | 'SIGKILL'): void
}

/** What to start: a program, its arguments, where, and the file its output goes to. */
export interface SpawnRequest {
  readonly command: string
  readonly args: readonly string[]
  readonly cwd: string
  /** Standard output and standard error are appended to this file (created with its folder). */
  readonly logFile: string
  /** Extra environment variables on top of this process's own. */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * The capability to start child processes and to ask whether a process is alive. A sweep runs
 * its trials through it, so its tests swap in a fake that "runs" a trial by writing its files.
 *
 * @example
 * const child = liveProcesses.spawn({ command: 'node', args: ['-e', '1'], cwd: '.', logFile: 'out.log' })
 * const { code } = await child.exited   // 0
 */
export interface Processes {
  spawn(request: SpawnRequest): ChildHandle
  /** Whether a process with this id exists (a trial left running by a sweep that was killed). */
  isAlive(pid: number): boolean
}

/**
 * Child processes of this Node process. Each child's output goes to its log file rather than to
 * this terminal, so that trials running at once do not interleave their progress bars.
 */
export const liveProcesses: Processes = {
  spawn: ({ command, args, cwd, logFile, env }) => {
    mkdirSync(dirname(logFile), { recursive: true })
    const fd = openSync(logFile, 'a')
    let child: ReturnType<typeof spawnChild>
    try {
      child = spawnChild(command, [...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] })
    } finally {
      closeSync(fd) // the child holds its own copy of the descriptor
    }
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once('error', () => resolve({ code: 127, signal: null }))
      child.once('exit', (code, signal) => resolve({ code, signal }))
    })
    return {
      pid: child.pid,
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      },
    }
  },
  isAlive: (pid) => {
    try {
      process.kill(pid, 0)
      return true
    } catch (e) {
      // EPERM: it exists but belongs to someone else.
      return (e as { code?: unknown }).code === 'EPERM'
    }
  },
}

/**
 * The command line that starts the `rxtrain` command in a child process: this Node with the
 * compiled `dist/cli/main.js`, or, when rxtrain runs from its TypeScript sources (development,
 * tests), `src/cli/main.ts` through tsx's loader (found from rxtrain's own folder, so the
 * user's cwd need not have tsx), told where rxtrain's tsconfig.json is: tsx looks for one in the
 * cwd, and its `paths` are what map `#platform/*` to the Node sources.
 */
export const rxtrainCommandLine = (): { readonly command: string; readonly args: readonly string[]; readonly env?: Readonly<Record<string, string>> } => {
  const self = import.meta.url
  const main = fileURLToPath(new URL(`../cli/main.${self.endsWith('.ts') ? 'ts' : 'js'}`, self))
  if (!self.endsWith('.ts')) return { command: process.execPath, args: [main] }
  const tsx = pathToFileURL(createRequire(self).resolve('tsx')).href
  return { command: process.execPath, args: ['--import', tsx, main], env: { TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../tsconfig.json', self)) } }
}
