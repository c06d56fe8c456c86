import * as E from 'fp-ts/lib/Either.js'
import { relative } from 'node:path'
import { systemClock } from '../effects/clock.js'
import { fileImporter, type ImportFile } from '../effects/importFile.js'
import { nodeFileSystem } from '../effects/nodeFileSystem.js'
import { liveProcesses, rxtrainCommandLine } from '../effects/processes.js'
import { processSignals } from '../effects/signals.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import { planSweep } from '../sweep/planSweep.js'
import { cells, formatTable, resultRow } from '../sweep/results.js'
import { runSweep, type SweepEnv, type SweepSummary } from '../sweep/runSweep.js'
import { writeReport } from '../report/writeReport.js'
import { localScheduler } from '../sweep/scheduler.js'
import { type CliIO, type Command, EXIT } from './command.js'

const help = `rxtrain sweep --config sweep.yaml [--parallel N] [--name NAME] [--dry-run]

Runs a grid or random search over a run config: each trial is \`rxtrain fit\` in a process of
its own, in <runsDir>/<name>/trial_<k>, with its config (trial.yaml) and its output
(<runsDir>/<name>/logs/trial_<k>.log). At the end it prints the results table, best first by
the sweep's monitor, and writes results.csv and results.md in the sweep's folder.

Running the same sweep again skips finished trials, resumes interrupted ones from their last
checkpoint and starts failed ones over. Ctrl-C (or SIGTERM) stops the running trials, which
save their last checkpoint; the sweep then exits with status 130.

Options:
  --config FILE   the sweep file (YAML): config, parameters, method, trials, seed, parallel, monitor, mode, set
  --parallel N    trials at once (default: the file's parallel, else 1)
  --name NAME     the sweep's folder name under runsDir (default: the file's name, else <run name>-sweep)
  --dry-run       print the trials and their values, run nothing
  --help          this text

A sweep file:
  config: run.yaml                 # the base run config(s), relative to this file
  method: random                   # grid (default) or random
  trials: 6                        # random: how many
  seed: 0
  parallel: 2
  monitor: val/loss
  mode: min
  set: { trainer.limitTrainBatches: 100 }   # set in every trial
  parameters:
    model.args.hidden: { values: [64, 128, 256] }
    model.args.lr: { distribution: log_uniform, min: 0.0001, max: 0.01 }
    trainer.maxEpochs: { values: [2, 3] }

Exit status: 0 every trial finished, 1 a trial failed, 2 a bad command line or sweep file,
130 interrupted.`

/** What the sweep command runs with; the live ones by default, fakes in tests. */
export interface SweepCommandEnv extends Omit<SweepEnv, 'out' | 'err' | 'cwd'> {
  readonly importFile: ImportFile
  /** Writes the sweep's report; absent (tests with fake trials), no report. */
  readonly report?: typeof writeReport
}

interface SweepArgs {
  readonly config: string
  readonly parallel: number | undefined
  readonly name: string | undefined
  readonly dryRun: boolean
}

const parseArgs = (argv: readonly string[]): { readonly args: SweepArgs } | { readonly usage: string } | 'help' => {
  let config: string | undefined
  let parallel: number | undefined
  let name: string | undefined
  let dryRun = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    if (flag === '--help' || flag === '-h') return 'help'
    else if (flag === '--dry-run') dryRun = true
    else if (flag === '--config' || flag === '-c') config = value()
    else if (flag === '--name') name = value()
    else if (flag === '--parallel') {
      const v = value()
      const n = Number(v)
      if (v === undefined || !Number.isSafeInteger(n) || n < 1) return { usage: `--parallel must be an integer >= 1, got ${v === undefined ? 'nothing' : `'${v}'`}` }
      parallel = n
    } else if (!flag.startsWith('-') && config === undefined) config = flag
    else return { usage: `unknown argument '${arg}' (see rxtrain sweep --help)` }
  }
  if (config === undefined || config === '') return { usage: 'rxtrain sweep needs a sweep file: rxtrain sweep --config sweep.yaml' }
  if (name !== undefined && !/^[\w.-]+$/.test(name)) return { usage: `--name must be a folder name (letters, digits, _ . -), got '${name}'` }
  return { args: { config, parallel, name, dryRun } }
}

/** How many of the best finished trials the sweep's report draws, under the table of all of them. */
const REPORTED_TRIALS = 3

/**
 * The sweep's report (`<sweep>/report/report.html`): the table of every trial, best first, then
 * the curves of the best few finished ones overlaid. A missing drawing package (vega, vega-lite,
 * resvg: optional peers) only skips it, with the reason; the sweep's own status stands.
 */
const writeSweepReport = async (summary: SweepSummary, paths: readonly string[], monitor: string | undefined, env: SweepCommandEnv, io: CliIO): Promise<void> => {
  const best = summary.rows.filter((r) => r.status === 'finished').slice(0, REPORTED_TRIALS)
  if (best.length === 0 || env.report === undefined) return
  const written = await env.report({
    runs: best.map((r) => `${summary.sweepDir}/${r.trial.id}`),
    out: `${summary.sweepDir}/report`,
    fs: env.fs,
    clock: env.clock,
    lead: {
      title: `sweep ${relative(io.cwd, summary.sweepDir) || '.'}`,
      note: `${summary.rows.length} trials, best first by ${monitor ?? 'score'}; the charts overlay the best ${best.length} finished.`,
      cells: cells(summary.rows, paths, monitor),
    },
  })()
  if (E.isLeft(written)) io.err(`sweep report not written: ${written.left.message}`)
  else io.out(`sweep report: ${relative(io.cwd, written.right.html)}`)
}

const failWith = (io: CliIO, e: RxtrainError): number => {
  io.err(e.message)
  return e.tag === 'ConfigError' ? EXIT.usage : EXIT.failed
}

/**
 * `rxtrain sweep` with its capabilities: tests pass fakes (a scheduler that "runs" trials by
 * writing their result files), the command uses the live ones.
 */
export const makeSweepCommand = (env: () => SweepCommandEnv): Command => ({
  name: 'sweep',
  summary: 'run a grid or random search over a run config, trials in parallel processes',
  help,
  run: async (argv, io) => {
    const parsed = parseArgs(argv)
    if (parsed === 'help') {
      io.out(help)
      return EXIT.ok
    }
    if ('usage' in parsed) {
      io.err(`rxtrain sweep: ${parsed.usage}`)
      return EXIT.usage
    }
    const { args } = parsed
    const e = env()
    const plan = await planSweep(e.fs, args.config, { cwd: io.cwd, importFile: e.importFile, ...(args.name !== undefined && { name: args.name }) })
    if (E.isLeft(plan)) return failWith(io, plan.left)
    const parallel = args.parallel ?? plan.right.spec.parallel
    if (args.dryRun) {
      io.out(`sweep ${plan.right.name}: ${plan.right.trials.length} trials in ${relative(io.cwd, plan.right.sweepDir) || '.'}, ${parallel} at a time`)
      const paths = plan.right.spec.parameters.map(([p]) => p)
      for (const line of formatTable(plan.right.trials.map((t) => resultRow(t, undefined, undefined)), paths, plan.right.spec.monitor)) io.out(line)
      return EXIT.ok
    }
    const summary = await runSweep(plan.right, parallel, { ...e, out: io.out, err: io.err, cwd: io.cwd })
    if (E.isLeft(summary)) return failWith(io, summary.left)
    const { status } = summary.right
    if (e.report !== undefined) await writeSweepReport(summary.right, plan.right.spec.parameters.map(([p]) => p), plan.right.spec.monitor, e, io)
    return status === 'finished' ? EXIT.ok : status === 'interrupted' ? EXIT.interrupted : EXIT.failed
  },
})

/** `rxtrain sweep`: trials as child processes of this machine (`rxtrain fit` each). */
export const sweepCommand: Command = makeSweepCommand(() => ({
  fs: nodeFileSystem,
  processes: liveProcesses,
  scheduler: localScheduler(liveProcesses, rxtrainCommandLine()),
  signals: processSignals,
  clock: systemClock,
  pid: process.pid,
  importFile: fileImporter(),
  report: writeReport,
}))
