import * as E from 'fp-ts/lib/Either.js'
import { basename, dirname, extname, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { type ConfigOverride, loadRunConfig } from '../config/loadConfig.js'
import { encodeRunConfig, type ResolvedRunConfig } from '../config/runConfig.js'
import type { FileSystem } from '../effects/fileSystem.js'
import type { ImportFile } from '../effects/importFile.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { expandSweep } from './expand.js'
import type { PlannedTrial } from './sweepState.js'
import { parseSweepSpec, type SweepSpec } from './sweepSpec.js'

/** A sweep ready to run: its spec, its folder and its trials with their configs. */
export interface SweepPlan {
  readonly spec: SweepSpec
  /** The sweep file, absolute. */
  readonly sweepFile: string
  readonly name: string
  /** `<runsDir>/<name>`, absolute. */
  readonly sweepDir: string
  readonly trials: readonly PlannedTrial[]
}

/** Where the sweep goes and what it is called, when not the spec's own (the command line's `--name`, `--parallel`). */
export interface PlanOptions {
  readonly cwd: string
  readonly name?: string
  /** Loads TypeScript/JavaScript base configs (`rxtrain.config.ts`). */
  readonly importFile: ImportFile
}

/** A YAML (or JSON) file's contents, or a ConfigError naming the file, line and column. */
export const readYaml = async (fs: FileSystem, file: string, shown: string): Promise<E.Either<RxtrainError, unknown>> => {
  const text = await fs.readText(file)()
  if (E.isLeft(text))
    return E.left(rxtrainError('ConfigError', `cannot read ${shown}: ${text.left.problem}`, 'check the file name (paths in a sweep file are relative to the sweep file).', { file: shown }))
  const doc = parseDocument(text.right)
  const [first] = doc.errors
  if (first !== undefined) {
    const at = first.linePos?.[0]
    return E.left(rxtrainError('ConfigError', `${shown}${at !== undefined ? `:${at.line}:${at.col}` : ''} is not valid YAML: ${first.message.split('\n')[0]}`, 'fix the YAML at that line (indentation, a missing colon or quote).', { file: shown }))
  }
  return E.right(doc.toJS() as unknown)
}

/** A trial's value as an override of the base config (JSON is YAML, so `text` reads back as the same value). */
const overrideOf = ([path, value]: readonly [string, unknown]): ConfigOverride => ({ flag: `${path} = ${JSON.stringify(value)} (the sweep's)`, path, text: JSON.stringify(value) })

/**
 * Reads a sweep file and plans its trials: each one's values and its config (the base config
 * file(s), named relative to the sweep file and loaded as `rxtrain fit --config` loads them, with
 * the sweep's `set` and the trial's values as overrides, validated, module paths absolute). A trial config that
 * does not validate (a swept value of the wrong type) stops the sweep before anything runs. The
 * sweep's `name` defaults to the run's name plus `-sweep`; `runsDir` to the run's (`runs`),
 * relative to `cwd`.
 *
 * @example
 * const plan = await planSweep(effects.nodeFileSystem, 'examples/mnist-mlp/sweep.yaml', { cwd: process.cwd(), importFile: fileImporter() })
 * // Right({ name: 'mnist-mlp-sweep', sweepDir: '/.../runs/mnist-mlp-sweep', trials: [6 trials] })
 */
export const planSweep = async (fs: FileSystem, sweepPath: string, options: PlanOptions): Promise<E.Either<RxtrainError, SweepPlan>> => {
  const sweepFile = resolve(options.cwd, sweepPath)
  const raw = await readYaml(fs, sweepFile, sweepPath)
  if (E.isLeft(raw)) return raw
  const parsed = parseSweepSpec(raw.right, sweepPath)
  if (E.isLeft(parsed)) return parsed
  const spec = parsed.right
  const files = spec.config.map((c) => resolve(dirname(sweepFile), c))
  const trials: PlannedTrial[] = []
  let run: ResolvedRunConfig | undefined
  for (const t of expandSweep(spec)) {
    const loaded = await loadRunConfig({ files, overrides: [...spec.set, ...Object.entries(t.values)].map(overrideOf), cwd: options.cwd, fs, importFile: options.importFile })
    if (E.isLeft(loaded)) {
      const e = loaded.left
      return E.left(rxtrainError('ConfigError', `${sweepPath}: the config of ${t.id} is wrong: ${e.problem}`, e.remedy, { ...e.details, file: sweepPath, trial: t.id }))
    }
    run ??= loaded.right
    trials.push({ ...t, config: encodeRunConfig(loaded.right) })
  }
  const name = options.name ?? spec.name ?? `${run?.name ?? basename(sweepFile, extname(sweepFile))}-sweep`
  const sweepDir = resolve(options.cwd, spec.runsDir ?? run?.runsDir ?? 'runs', name)
  return E.right({ spec, sweepFile, name, sweepDir, trials })
}
