import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import { loadData, loadModel } from '../config/loadRefs.js'
import { evalMetrics } from '../hooks/evalMetrics.js'
import { formatMetrics } from '../hooks/printMetrics.js'
import { test, validate } from '../pipeline/evaluate.js'
import { configOf, evaluationWeights, printError, printUsage, shown } from './cliSupport.js'
import { type CliIO, type Command, EXIT } from './command.js'
import { type FlagSpec, helpText, parseRunArgs } from './runArgs.js'
import { liveRunDeps, type RunDeps } from './runDeps.js'

/** The flags of the commands that evaluate saved weights. */
export const weightFlags: readonly FlagSpec[] = [
  { name: 'ckpt-path', value: 'PATH', help: 'the weights: a checkpoint folder or pointer (runs/x/version_0/checkpoints/best), or best / last of --run-dir' },
  { name: 'run-dir', value: 'DIR', help: "the run folder whose checkpoints to use (default: the folder of a run's config.yaml)" },
]

type Stage = 'validate' | 'test'

const helpOf = (stage: Stage): string =>
  helpText(
    `rxtrain ${stage} --config run.yaml (--ckpt-path PATH | --run-dir DIR) [--set PATH=VALUE]...`,
    [
      `Runs the module's ${stage === 'validate' ? 'validationStep over the data\'s val' : 'testStep over the data\'s test'} source with saved weights and prints the metrics`,
      `(Lightning's trainer.${stage}). \`rxtrain ${stage} --config runs/x/version_0/config.yaml\` uses that run's best checkpoint.`,
    ],
    weightFlags,
  )

/** `rxtrain validate` or `rxtrain test` over the given capabilities. */
export const runEvaluation =
  (stage: Stage, deps: RunDeps) =>
  async (argv: readonly string[], io: CliIO): Promise<number> => {
    const parsed = parseRunArgs(argv, weightFlags)
    if ('usage' in parsed) return printUsage(io, stage, parsed.usage)
    const { args } = parsed
    if (args.help) {
      io.out(helpOf(stage))
      return EXIT.ok
    }
    const loaded = await configOf(stage, args, deps, io)
    if (E.isLeft(loaded)) return loaded.left
    const config = loaded.right
    const weights = await evaluationWeights(io, args, config, deps)
    if ('usage' in weights) return printUsage(io, stage, weights.usage)
    const model = await loadModel(config.model, deps.importFile)
    if (E.isLeft(model)) return printError(io, stage, model.left)
    const data = await loadData(config.data, deps.importFile)
    if (E.isLeft(data)) return printError(io, stage, data.left)
    const options = { ...config.trainer, ckptPath: weights.ckptPath, defaultRootDir: weights.runDir ?? io.cwd }
    const run = stage === 'validate' ? validate : test
    try {
      const metrics = await lastValueFrom(run(model.right, undefined, data.right, options, deps.env).pipe(evalMetrics()))
      io.out(`${stage} (${weights.runDir !== undefined && (weights.ckptPath === 'best' || weights.ckptPath === 'last') ? `${shown(io, weights.runDir)}, ${weights.ckptPath}` : shown(io, weights.ckptPath)}): ${formatMetrics(metrics)}`)
      return EXIT.ok
    } catch (e) {
      return printError(io, stage, e)
    }
  }

/** `rxtrain validate`: a checkpoint's validation metrics. */
export const validateCommand: Command = { name: 'validate', summary: "evaluate saved weights on the data's val source", help: helpOf('validate'), run: runEvaluation('validate', liveRunDeps) }

/** `rxtrain test`: a checkpoint's test metrics. */
export const testCommand: Command = { name: 'test', summary: "evaluate saved weights on the data's test source", help: helpOf('test'), run: runEvaluation('test', liveRunDeps) }
