import * as E from 'fp-ts/lib/Either.js'
import { join, relative } from 'node:path'
import { stringify } from 'yaml'
import type { Clock } from '../effects/clock.js'
import type { FileSystem } from '../effects/fileSystem.js'
import type { Processes } from '../effects/processes.js'
import type { InterruptSignal, Signals } from '../effects/signals.js'
import { isRxtrainError, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { SweepPlan } from './planSweep.js'
import { formatCsv, formatMarkdown, formatTable, type ResultRow, resultRow, sortRows, type TrialResult } from './results.js'
import type { TrialEvent, TrialJob, TrialScheduler } from './scheduler.js'
import { reconcileState, SweepStateCodec, type TrialAction, trialAction, type PlannedTrial } from './sweepState.js'

/** What a sweep touches: files, child processes (to see whether old trials still run), its scheduler, signals and output. */
export interface SweepEnv {
  readonly fs: FileSystem
  readonly processes: Processes
  readonly scheduler: TrialScheduler
  readonly signals: Signals
  readonly clock: Clock
  /** This process's id (kept in running.json, so a later run can tell whether this sweep still runs). */
  readonly pid: number
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  /** The folder paths are printed relative to. */
  readonly cwd: string
}

/** How a sweep ended: every trial finished, some did not, or it was interrupted; and its table, best first. */
export interface SweepSummary {
  readonly status: 'finished' | 'failed' | 'interrupted'
  readonly rows: readonly ResultRow[]
  readonly sweepDir: string
}

/** The sweep's files in its folder. */
export const SWEEP_FILES = { state: 'sweep.json', running: 'running.json', csv: 'results.csv', md: 'results.md', logs: 'logs' } as const

const readJson = async (fs: FileSystem, path: string): Promise<unknown> => {
  if (!(await fs.exists(path)())) return undefined
  const text = await fs.readText(path)()
  if (E.isLeft(text)) return undefined
  try {
    return JSON.parse(text.right) as unknown
  } catch {
    return undefined
  }
}
const must = async <A>(task: () => Promise<E.Either<RxtrainError, A>>): Promise<A> => {
  const r = await task()
  if (E.isLeft(r)) throw r.left
  return r.right
}

/** A trial's `result.json`, when it wrote one that has a status. */
export const readResult = async (fs: FileSystem, trialDir: string): Promise<TrialResult | undefined> => {
  const r = await readJson(fs, join(trialDir, 'result.json'))
  return typeof r === 'object' && r !== null && typeof (r as { status?: unknown }).status === 'string' ? (r as TrialResult) : undefined
}

/** Fails when trials of an earlier run of this sweep still run (its process was killed, its children were not). */
const checkNothingRuns = async (fs: FileSystem, processes: Processes, sweepDir: string, shown: string, self: number): Promise<void> => {
  const running = await readJson(fs, join(sweepDir, SWEEP_FILES.running))
  if (typeof running !== 'object' || running === null) return
  const pids = Object.entries(running as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] !== self)
  const alive = pids.filter(([, pid]) => processes.isAlive(pid))
  if (alive.length > 0)
    throw rxtrainError(
      'FileError',
      `${shown} is in use: ${alive.map(([who, pid]) => `${who} runs as process ${pid}`).join(', ')}`,
      `wait for ${alive.length === 1 ? 'it' : 'them'} to end (or stop ${alive.length === 1 ? 'it' : 'them'}: kill -TERM ${alive.map(([, p]) => p).join(' ')}), then run the sweep again; if those processes are something else, remove ${join(shown, SWEEP_FILES.running)}.`,
      { path: sweepDir, pids: alive },
    )
}

const describeValues = (values: Readonly<Record<string, unknown>>): string =>
  Object.entries(values)
    .map(([p, v]) => `${p}=${typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : JSON.stringify(v)}`)
    .join(' ')

/** Readies a trial's folder for its action (emptied for a fresh start) and writes its config; its job. */
const prepareTrial = async (env: SweepEnv, plan: SweepPlan, trial: PlannedTrial, action: Exclude<TrialAction, 'skip'>): Promise<TrialJob> => {
  const { fs, cwd } = env
  const dir = join(plan.sweepDir, trial.id)
  if (action === 'fresh') await must(fs.remove(dir))
  await must(fs.mkdir(dir))
  const config = join(dir, 'trial.yaml')
  const header = `# ${trial.id} of the sweep ${plan.name} (${relative(cwd, plan.sweepFile)}): its base config with ${describeValues(trial.values)}\n`
  await must(fs.writeFileAtomic(config, header + stringify(trial.config)))
  const logFile = join(plan.sweepDir, SWEEP_FILES.logs, `${trial.id}.log`)
  await must(fs.mkdir(join(plan.sweepDir, SWEEP_FILES.logs)))
  await must(fs.appendFile(logFile, `\n=== ${trial.id}: ${action === 'resume' ? 'resumed from its last checkpoint' : 'started'} at ${new Date(env.clock.now()).toISOString()} ===\n`))
  return { id: trial.id, argv: ['fit', '--config', config, '--run-dir', dir, ...(action === 'resume' ? ['--set', 'trainer.ckptPath=last'] : [])], cwd, logFile }
}

/**
 * Runs a planned sweep: checks its folder belongs to this spec (`sweep.json`), skips finished
 * trials, resumes interrupted ones from `last`, starts the others afresh, `parallel` at once
 * through the scheduler; on SIGINT/SIGTERM passes the signal to the running trials and waits for
 * them; at the end prints the results table (best first) and writes it as `results.csv` and
 * `results.md`. A bad folder or file fails with the RxtrainError; a trial's failure is a row.
 *
 * @example
 * const summary = await runSweep(plan, 2, { fs, processes, scheduler: localScheduler(liveProcesses, rxtrainCommandLine()), signals, out, err, cwd })
 */
export const runSweep = async (plan: SweepPlan, parallel: number, env: SweepEnv): Promise<E.Either<RxtrainError, SweepSummary>> => {
  const { fs, out, cwd } = env
  const shown = relative(cwd, plan.sweepDir) || '.'
  try {
    await checkNothingRuns(fs, env.processes, plan.sweepDir, shown, env.pid)
    const statePath = join(plan.sweepDir, SWEEP_FILES.state)
    const previousRaw = await readJson(fs, statePath)
    const previous = previousRaw === undefined ? undefined : SweepStateCodec.decode(previousRaw)
    if (previous !== undefined && E.isLeft(previous))
      throw rxtrainError('ConfigError', `${relative(cwd, statePath)} is not a sweep state file rxtrain can read`, `remove ${shown} to start the sweep over, or give the sweep another name (--name).`, { path: statePath })
    const state = reconcileState(previous?.right, plan.trials, relative(plan.sweepDir, plan.sweepFile), shown)
    if (E.isLeft(state)) throw state.left
    await must(fs.mkdir(plan.sweepDir))
    await must(fs.writeFileAtomic(statePath, JSON.stringify(state.right, null, 2) + '\n'))

    const actions = await Promise.all(
      plan.trials.map(async (trial) => {
        const dir = join(plan.sweepDir, trial.id)
        const result = await readResult(fs, dir)
        return trialAction({ status: result?.status, hasLast: await fs.exists(join(dir, 'checkpoints', 'last.json'))() })
      }),
    )
    const jobs: TrialJob[] = []
    for (const [i, trial] of plan.trials.entries()) {
      const action = actions[i] as TrialAction
      if (action !== 'skip') jobs.push(await prepareTrial(env, plan, trial, action))
    }
    const count = (a: TrialAction) => actions.filter((x) => x === a).length
    out(
      `sweep ${plan.name}: ${plan.trials.length} trials (${plan.spec.method}) in ${shown}: ${count('skip')} finished already, ${count('resume')} to resume, ${count('fresh')} to run; ${Math.min(parallel, Math.max(jobs.length, 1))} at a time`,
    )

    const byId = new Map(plan.trials.map((t) => [t.id, t]))
    const running: Record<string, number> = { sweep: env.pid }
    let writes = Promise.resolve()
    const saveRunning = (): void => {
      const snapshot = JSON.stringify(running) + '\n'
      writes = writes.then(async () => void (await fs.writeFileAtomic(join(plan.sweepDir, SWEEP_FILES.running), snapshot)()))
    }
    saveRunning()
    const onEvent = (e: TrialEvent): void => {
      if (e.type === 'started') {
        if (e.pid !== undefined) running[e.job.id] = e.pid
        saveRunning()
        out(`${e.job.id} ${e.job.argv.includes('trainer.ckptPath=last') ? 'resumed' : 'started'}: ${describeValues(byId.get(e.job.id)?.values ?? {})}`)
        return
      }
      delete running[e.job.id]
      saveRunning()
      const how = e.exit.signal !== null ? `ended by ${e.exit.signal}` : e.exit.code === 0 ? 'finished' : e.exit.code === 130 ? 'interrupted' : `failed (exit ${e.exit.code}; its output: ${relative(cwd, e.job.logFile)})`
      out(`${e.job.id} ${how}`)
    }
    let interrupted: InterruptSignal | undefined
    const scheduled = env.scheduler.run(jobs, parallel, onEvent)
    const stopListening = env.signals.onInterrupt((signal) => {
      if (interrupted === undefined) out(`${signal}: stopping the running trials (each saves its last checkpoint); run the sweep again to go on`)
      interrupted ??= signal
      scheduled.interrupt(signal)
    })
    try {
      await scheduled.done
    } finally {
      stopListening()
      await writes
      await fs.remove(join(plan.sweepDir, SWEEP_FILES.running))()
    }

    const monitor = plan.spec.monitor
    const results = await Promise.all(plan.trials.map((t) => readResult(fs, join(plan.sweepDir, t.id))))
    const shownMonitor = monitor ?? results.find((r) => r?.monitor !== undefined)?.monitor
    const rows = sortRows(plan.trials.map((t, i) => resultRow(t, results[i], shownMonitor)), plan.spec.mode)
    const paths = plan.spec.parameters.map(([p]) => p)
    out('')
    for (const line of formatTable(rows, paths, shownMonitor)) out(line)
    await must(fs.writeFileAtomic(join(plan.sweepDir, SWEEP_FILES.csv), formatCsv(rows, paths, shownMonitor)))
    await must(fs.writeFileAtomic(join(plan.sweepDir, SWEEP_FILES.md), formatMarkdown(rows, paths, shownMonitor)))
    out(`results: ${join(shown, SWEEP_FILES.csv)}, ${join(shown, SWEEP_FILES.md)}`)
    const status = interrupted !== undefined ? 'interrupted' : rows.every((r) => r.status === 'finished') ? 'finished' : 'failed'
    return E.right({ status, rows, sweepDir: plan.sweepDir })
  } catch (e) {
    if (isRxtrainError(e)) return E.left(e)
    throw e
  }
}
