import { resolve } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import { loadData, loadModel } from '../config/loadRefs.js'
import { collectPredictions } from '../hooks/collectPredictions.js'
import { predict } from '../pipeline/evaluate.js'
import { configOf, evaluationWeights, printError, printUsage, shown } from './cliSupport.js'
import { type CliIO, type Command, EXIT } from './command.js'
import { weightFlags } from './evaluateCommand.js'
import { type FlagSpec, helpText, parseRunArgs } from './runArgs.js'
import { liveRunDeps, type RunDeps } from './runDeps.js'

const flags: readonly FlagSpec[] = [
  ...weightFlags,
  { name: 'out', value: 'FILE', help: 'where to write the predictions (default: predictions.json in the run folder, else here)' },
]

const help = helpText(
  'rxtrain predict --config run.yaml (--ckpt-path PATH | --run-dir DIR) [--out FILE] [--set PATH=VALUE]...',
  [
    "Runs the module's predictStep over the data's predict source with saved weights (Lightning's",
    'trainer.predict) and writes the outputs, concatenated along the batch axis, as JSON:',
    '{ "shape": [n, ...], "predictions": [...] } (nested lists, one entry per example).',
  ],
  flags,
)

/** `rxtrain predict` over the given capabilities. */
export const runPredict =
  (deps: RunDeps) =>
  async (argv: readonly string[], io: CliIO): Promise<number> => {
    const parsed = parseRunArgs(argv, flags)
    if ('usage' in parsed) return printUsage(io, 'predict', parsed.usage)
    const { args } = parsed
    if (args.help) {
      io.out(help)
      return EXIT.ok
    }
    const loaded = await configOf('predict', args, deps, io)
    if (E.isLeft(loaded)) return loaded.left
    const config = loaded.right
    const weights = await evaluationWeights(io, args, config, deps)
    if ('usage' in weights) return printUsage(io, 'predict', weights.usage)
    const model = await loadModel(config.model, deps.importFile)
    if (E.isLeft(model)) return printError(io, 'predict', model.left)
    const data = await loadData(config.data, deps.importFile)
    if (E.isLeft(data)) return printError(io, 'predict', data.left)
    const out = args.flags.out !== undefined ? resolve(io.cwd, args.flags.out) : resolve(weights.runDir ?? io.cwd, 'predictions.json')
    const options = { ...config.trainer, ckptPath: weights.ckptPath, defaultRootDir: weights.runDir ?? io.cwd }
    try {
      const outputs = await lastValueFrom(predict(model.right, undefined, data.right, options, deps.env).pipe(collectPredictions()))
      const shape = outputs.shape
      const predictions = outputs.arraySync()
      outputs.dispose()
      const written = await deps.env.fs.writeFileAtomic(out, `${JSON.stringify({ shape, predictions })}\n`)()
      if (E.isLeft(written)) return printError(io, 'predict', written.left)
      io.out(`predict: ${shape[0] ?? 0} predictions of shape [${shape.slice(1).join(', ')}] written to ${shown(io, out)}`)
      return EXIT.ok
    } catch (e) {
      return printError(io, 'predict', e)
    }
  }

/** `rxtrain predict`: a checkpoint's predictions, as JSON. */
export const predictCommand: Command = { name: 'predict', summary: "write saved weights' predictions on the data's predict source", help, run: runPredict(liveRunDeps) }
