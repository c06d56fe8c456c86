import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { hookEntry, hookOperators } from '../config/hooksConfig.js'
import { type AnyModule, loadData, loadModel } from '../config/loadRefs.js'
import { type ResolvedRunConfig, runConfigYaml } from '../config/runConfig.js'
import { rxtrainVersion } from '../effects/packageVersion.js'
import { latchedSignals } from '../effects/signals.js'
import { nextVersionDir } from '../effects/versionDir.js'
import { isRxtrainError, messageOf, rxtrainError } from '../errors/rxtrainError.js'
import { evalMetrics } from '../hooks/evalMetrics.js'
import { formatMetrics, startLines } from '../hooks/printMetrics.js'
import { formatDuration } from '../hooks/progressText.js'
import { trainedModel } from '../hooks/trainedModel.js'
import type { Model } from '../nn/layer.js'
import { test } from '../pipeline/evaluate.js'
import type { FitEvent, Metrics } from '../pipeline/events.js'
import { fit } from '../pipeline/fit.js'
import { disposeTree } from '../tree/tree.js'
import { absoluteCheckpoint, configOf, printError, printUsage, shown } from './cliSupport.js'
import { type CliIO, type Command, EXIT } from './command.js'
import { type FlagSpec, helpText, parseRunArgs } from './runArgs.js'
import { bestCheckpoint, monitoredCheckpoint, type RunResult, writeRunResult } from './runResult.js'
import { liveRunDeps, type RunDeps } from './runDeps.js'

const flags: readonly FlagSpec[] = [
  { name: 'run-dir', value: 'DIR', help: 'train in this folder (made if needed) instead of a new <runsDir>/<name>/version_N' },
]

const help = helpText(
  'rxtrain fit --config run.yaml [--config more.yaml] [--set PATH=VALUE | --PATH VALUE]... [--run-dir DIR]',
  [
    'Trains the model the config names on its data, with its trainer options and hooks (in list',
    'order), in a new run folder <runsDir>/<name>/version_N; then tests, when the config says so.',
    'The folder gets config.yaml (the resolved config: `rxtrain fit --config <it>` repeats the run),',
    'what the hooks write (metrics.csv, checkpoints/, ...) and result.json (how the run ended).',
  ],
  flags,
  [
    'Resume a stopped run:  rxtrain fit --config DIR/config.yaml --run-dir DIR --set trainer.ckptPath=last',
    'Ctrl-C or SIGTERM stops at the next step, saves `last` (with a checkpoint hook) and exits with 130;',
    'a bad config or flag exits with 2, a failed run with 1.',
  ],
)

/** The config as saved in the run folder: a resume point of this run (`last`, `best`) is not part of what the run is. */
const savedConfig = (config: ResolvedRunConfig, cwd: string): string => {
  const { ckptPath, ...trainer } = config.trainer
  const keep = ckptPath === undefined || ckptPath === 'last' || ckptPath === 'best' ? {} : { ckptPath: absoluteCheckpoint(cwd, ckptPath) }
  return [
    '# The resolved config of this run (files merged, overrides set, defaults filled in).',
    '# `rxtrain fit --config <this file>` repeats the run in a new folder.',
    runConfigYaml({ ...config, trainer: { ...trainer, ...keep } }),
  ].join('\n')
}

interface Progress {
  epoch: number
  globalStep: number
  metrics: Metrics
  backend: string
  precision: string
  reason: string | undefined
  signal: string | undefined
}

/** `rxtrain fit` over the given capabilities (tests pass their own). */
export const runFit =
  (deps: RunDeps) =>
  async (argv: readonly string[], io: CliIO): Promise<number> => {
    const parsed = parseRunArgs(argv, flags)
    if ('usage' in parsed) return printUsage(io, 'fit', parsed.usage)
    const { args } = parsed
    if (args.help) {
      io.out(help)
      return EXIT.ok
    }
    // Listening from here on: a Ctrl-C while modules and data load stops the run before its first step.
    const signals = latchedSignals(deps.env.signals)
    try {
      const loaded = await configOf('fit', args, deps, io)
      if (E.isLeft(loaded)) return loaded.left
      const config = loaded.right
      const { fs, clock } = deps.env
      // Hook options that are wrong together (e.g. saveTopK > 1 without a monitor) fail here, before a folder is made.
      let operators: ReturnType<typeof hookOperators>
      try {
        operators = hookOperators(config.hooks)
      } catch (e) {
        return printError(io, 'fit', e)
      }
      const model = await loadModel(config.model, deps.importFile)
      if (E.isLeft(model)) return printError(io, 'fit', model.left)
      const module: AnyModule = model.right

      // The folder given (the sweep's trial folders, a resume), or the next version_N, claimed atomically.
      const given = args.flags['run-dir']
      const claimed =
        given === undefined
          ? await nextVersionDir(fs, resolve(io.cwd, config.runsDir, config.name))()
          : E.map(() => resolve(io.cwd, given))(await fs.mkdir(resolve(io.cwd, given))())
      if (E.isLeft(claimed)) return printError(io, 'fit', claimed.left)
      const runDir = claimed.right
      const saved = await fs.writeFileAtomic(`${runDir}/config.yaml`, savedConfig(config, io.cwd))()
      if (E.isLeft(saved)) return printError(io, 'fit', saved.left)
      io.out(`run folder ${shown(io, runDir)}`)

      const startedAt = clock.now()
      const progress: Progress = { epoch: 0, globalStep: 0, metrics: {}, backend: String(config.trainer.accelerator ?? 'auto'), precision: String(config.trainer.precision ?? '32-true'), reason: undefined, signal: undefined }
      const monitored = monitoredCheckpoint(config.hooks, runDir)
      const finish = async (status: RunResult['status'], extra: { readonly reason?: string; readonly error?: string; readonly test?: Metrics } = {}): Promise<void> => {
        const endedAt = clock.now()
        const best = monitored === undefined ? undefined : await bestCheckpoint(fs, monitored.dir, monitored.key)
        const result: RunResult = {
          status,
          reason: extra.reason ?? progress.reason ?? status,
          ...(extra.error !== undefined && { error: extra.error }),
          epoch: progress.epoch,
          globalStep: progress.globalStep,
          metrics: progress.metrics,
          ...(monitored !== undefined && { monitor: monitored.monitor, mode: monitored.mode }),
          ...(best !== undefined && { best }),
          ...(extra.test !== undefined && { test: extra.test }),
          startedAt: new Date(startedAt).toISOString(),
          endedAt: new Date(endedAt).toISOString(),
          durationMs: endedAt - startedAt,
          backend: progress.backend,
          precision: progress.precision,
          versions: { rxtrain: rxtrainVersion(), tfjs: tf.version_core },
        }
        const written = await writeRunResult(fs, runDir, result)()
        if (E.isLeft(written)) printError(io, 'fit', written.left)
        const why = result.reason === status ? '' : ` (${result.reason})`
        io.out(`${status}${why} at epoch ${progress.epoch}, step ${progress.globalStep} after ${formatDuration(result.durationMs)}: ${shown(io, runDir)}`)
      }
      const failed = async (e: unknown): Promise<number> => {
        const code = printError(io, 'fit', e)
        await finish('failed', { reason: isRxtrainError(e) ? e.tag : e instanceof Error ? e.name : 'Error', error: isRxtrainError(e) ? `${e.problem} (${e.remedy})` : messageOf(e) })
        return code
      }
      const interrupted = async (signal: string): Promise<number> => {
        io.out(`\n${signal} received: stopped at step ${progress.globalStep}.`)
        await finish('interrupted', { reason: 'interrupted' })
        if (await fs.exists(`${runDir}/checkpoints/last.json`)())
          io.out(`Resume with: rxtrain fit --config ${shown(io, runDir)}/config.yaml --run-dir ${shown(io, runDir)} --set trainer.ckptPath=last`)
        return EXIT.interrupted
      }

      const data = await loadData(config.data, deps.importFile)
      if (E.isLeft(data)) return failed(data.left)
      const early = signals.received()
      if (early !== undefined) return interrupted(early)

      const printsStart = config.hooks.some((h) => hookEntry(h).name === 'printMetrics')
      const options = { ...config.trainer, ckptPath: absoluteCheckpoint(io.cwd, config.trainer.ckptPath), defaultRootDir: runDir }
      const track = (e: FitEvent): void => {
        if (e.type === 'fitStart') {
          progress.backend = e.accelerator.backend
          progress.precision = e.options.precision
          progress.epoch = e.loop.epoch
          progress.globalStep = e.loop.globalStep
          if (!printsStart) startLines(e).forEach((line) => io.out(line))
        } else if (e.type === 'trainStep' || e.type === 'epochEnd' || e.type === 'validationEnd' || e.type === 'fitEnd') {
          progress.epoch = e.epoch
          progress.globalStep = e.globalStep
          if (e.type === 'validationEnd') progress.metrics = { ...progress.metrics, ...e.metrics }
          if (e.type === 'epochEnd') progress.metrics = { ...progress.metrics, ...e.callbackMetrics }
          if (e.type === 'fitEnd') {
            progress.reason = e.reason
            progress.signal = e.stopReason
          }
        }
      }
      let trained: Model
      try {
        trained = await lastValueFrom(fit(module, data.right, options, { ...deps.env, signals }).pipe((events) => operators.reduce((s, op) => op(s), events), tap(track), trainedModel()))
      } catch (e) {
        return failed(e)
      }
      // From here a signal ends the process at once, as it would without a run.
      signals.close()
      try {
        if (progress.reason === 'interrupted') return interrupted(progress.signal ?? 'SIGINT')
        if (config.test === undefined) {
          await finish('finished')
          return EXIT.ok
        }
        const ckptPath = absoluteCheckpoint(io.cwd, config.test.ckptPath)
        let metrics: Metrics
        try {
          const { ckptPath: _, ...testOptions } = options
          metrics = await lastValueFrom(
            test(module, ckptPath === undefined ? trained : undefined, data.right, { ...testOptions, ...(ckptPath !== undefined && { ckptPath }) }, { ...deps.env, signals }).pipe(evalMetrics()),
          )
        } catch (e) {
          return failed(isRxtrainError(e) ? e : rxtrainError('StepError', `the test after fit failed: ${messageOf(e)}`, 'see the message; the trained run is in the run folder.'))
        }
        io.out(`test (${ckptPath === undefined ? 'final weights' : `${config.test.ckptPath} checkpoint`}): ${formatMetrics(metrics)}`)
        await finish('finished', { test: metrics })
        return EXIT.ok
      } finally {
        disposeTree(trained)
      }
    } finally {
      signals.close()
    }
  }

/** `rxtrain fit`: trains a run declared by config files. */
export const fitCommand: Command = { name: 'fit', summary: 'train the run a config declares (and test it, if the config says so)', help, run: runFit(liveRunDeps) }
