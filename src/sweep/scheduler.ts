import type { ProcessExit, Processes } from '../effects/processes.js'
import type { InterruptSignal } from '../effects/signals.js'

/**
 * One trial to run: the `rxtrain` command line that runs it (`fit --config ... --run-dir ...`),
 * the folder it runs in and the file its output goes to. A scheduler needs nothing else, so a
 * distributed one can hand the same command line to a machine of a job queue.
 */
export interface TrialJob {
  readonly id: string
  /** The arguments after `rxtrain`. */
  readonly argv: readonly string[]
  readonly cwd: string
  readonly logFile: string
}

/** What happened to a job: it started (with its process id where there is one), or it ended. */
export type TrialEvent =
  | { readonly type: 'started'; readonly job: TrialJob; readonly pid: number | undefined }
  | { readonly type: 'exited'; readonly job: TrialJob; readonly exit: ProcessExit }

/** How a job ended, or that it never started (the sweep was interrupted first). */
export interface TrialOutcome {
  readonly job: TrialJob
  readonly exit: ProcessExit | 'not started'
}

/** A scheduled batch of jobs: its end, and a way to stop it. */
export interface ScheduledRun {
  /** Settles when every started job has ended (in job order). */
  readonly done: Promise<readonly TrialOutcome[]>
  /** Starts no more jobs, and passes the signal to the running ones (they save `last` and stop). */
  interrupt(signal: InterruptSignal): void
}

/**
 * Hands out a sweep's trials: runs `jobs` with at most `parallel` at once and reports each start
 * and end through `onEvent`. The local scheduler runs them as child processes of this machine;
 * a distributed one (a job queue on an existing engine) can take its place.
 *
 * @example
 * const run = localScheduler(liveProcesses, rxtrainCommandLine()).run(jobs, 2, (e) => console.log(e.type, e.job.id))
 * const outcomes = await run.done
 */
export interface TrialScheduler {
  run(jobs: readonly TrialJob[], parallel: number, onEvent: (event: TrialEvent) => void): ScheduledRun
}

/**
 * Runs jobs as child processes here, `parallel` at once, in job order: the command line is
 * `command args... <job.argv>` (this Node with the rxtrain CLI).
 */
export const localScheduler = (processes: Processes, commandLine: { readonly command: string; readonly args: readonly string[]; readonly env?: Readonly<Record<string, string>> }): TrialScheduler => ({
  run: (jobs, parallel, onEvent) => {
    const outcomes: (TrialOutcome | undefined)[] = jobs.map(() => undefined)
    const running = new Map<number, { kill: (s: InterruptSignal) => void }>()
    let next = 0
    let stopped: InterruptSignal | undefined
    let finish: () => void = () => undefined
    const done = new Promise<readonly TrialOutcome[]>((resolve) => {
      finish = () => resolve(jobs.map((job, i) => outcomes[i] ?? { job, exit: 'not started' }))
    })
    const pump = (): void => {
      while (stopped === undefined && running.size < Math.max(1, parallel) && next < jobs.length) {
        const i = next++
        const job = jobs[i] as TrialJob
        const child = processes.spawn({ command: commandLine.command, args: [...commandLine.args, ...job.argv], cwd: job.cwd, logFile: job.logFile, ...(commandLine.env !== undefined && { env: commandLine.env }) })
        running.set(i, child)
        onEvent({ type: 'started', job, pid: child.pid })
        void child.exited.then((exit) => {
          running.delete(i)
          outcomes[i] = { job, exit }
          onEvent({ type: 'exited', job, exit })
          pump()
        })
      }
      if (running.size === 0 && (stopped !== undefined || next >= jobs.length)) finish()
    }
    pump()
    return {
      done,
      interrupt: (signal) => {
        if (stopped !== undefined) return
        stopped = signal
        for (const child of running.values()) child.kill(signal)
        if (running.size === 0) finish()
      },
    }
  },
})
