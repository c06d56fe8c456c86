import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import YAML from 'yaml'
import { type ResolvedOptions, parseTrainerOptions, TrainerOptionsCodec, type TrainerOptions } from '../pipeline/options.js'
import { nonEmptyString } from '../pipeline/optionTypes.js'
import type { ConfigIssue } from './configErrors.js'
import { issuesOf } from './configErrors.js'
import { parseConfigPath } from './configPath.js'
import { type HookConfig, HookConfigCodec } from './hooksConfig.js'
import { isPlainObject } from './merge.js'
import { described, strictObject } from './strictObject.js'

/*
 * A run as a declaration (LightningCLI's config file): the model and the data named by module and
 * export with their arguments (`class_path` and `init_args`), the trainer options, the hooks in
 * pipe order, and whether to test after fitting. Decoded by the same codecs as the API (the
 * trainer's options by `TrainerOptionsCodec`, each hook's by its own), so a config and a call to
 * `fit` accept and refuse the same values.
 */

const moduleRef = (what: 'model' | 'data', gives: string) =>
  strictObject(
    what === 'model' ? 'ModelRef' : 'DataRef',
    {
      module: described(
        nonEmptyString('a module path (./model.ts, relative to the config file) or a package name'),
        `The file (relative to the config file's folder) or package that exports the ${what}. TypeScript files load through tsx when it is installed.`,
      ),
    },
    {
      export: described(nonEmptyString('an export name'), `The export: ${gives}. Default 'default'.`),
      args: described(t.UnknownRecord, 'The arguments the export is called with, when it is a function (LightningCLI\'s init_args).'),
    },
  )

/** The trainer's options as a config section: the API's codec, closed to unknown keys. */
const trainerSection = strictObject('TrainerOptions', {}, TrainerOptionsCodec.props)

/**
 * The run config's codec (YAML, JSON or a TypeScript `defineConfig`): `model` and `data` are
 * required, the rest optional. Unknown keys are errors with a did-you-mean, at their path.
 *
 * @example
 * RunConfigCodec.decode({ model: { module: './model.ts', export: 'mlp' }, data: { module: './data.ts' }, trainer: { maxEpoch: 3 } })
 * // Left: trainer.maxEpoch is not a known option; did you mean 'maxEpochs'?
 */
export const RunConfigCodec = strictObject(
  'RunConfig',
  {
    model: described(moduleRef('model', 'a Module, or a function of args that returns one'), 'The module to train: LightningCLI\'s model class_path and init_args.'),
    data: described(moduleRef('data', 'a DataModule, or a function of args that returns one (or a promise of one)'), 'The data module: LightningCLI\'s data class_path and init_args.'),
  },
  {
    $schema: described(t.string, 'The JSON Schema of this file, for editors (ignored by rxtrain).'),
    name: described(nonEmptyString('a non-empty name'), "The run's name: its folders are <runsDir>/<name>/version_N. Default 'default'."),
    runsDir: described(nonEmptyString('a non-empty path'), "Where run folders go, relative to the working directory (as Lightning's save_dir). Default 'runs'."),
    trainer: described(trainerSection, "The trainer options (Lightning's Trainer arguments); defaultRootDir is the run folder."),
    hooks: described(t.readonlyArray(HookConfigCodec), 'The hooks, in pipe order: a name, or { name: options }.'),
    test: described(
      strictObject('TestAfterFit', {}, {
        ckptPath: described(nonEmptyString("'best', 'last' or a checkpoint path"), "Which weights to test: 'best' or 'last' of the run, or a checkpoint. Default: the weights fit ended with."),
      }),
      "After fitting, run the module's testStep on the data's test source (Lightning's trainer.test).",
    ),
  },
)

/**
 * A run config as written: the input of `defineConfig` (`Parameters<typeof defineConfig>[0]`), and what a YAML file holds.
 *
 * @example
 * const config: RunConfig = {
 *   name: 'mnist-mlp',
 *   model: { module: './model.ts', export: 'mlp', args: { hidden: 256 } },
 *   data: { module: './data.ts', export: 'mnist', args: { batchSize: 128 } },
 *   trainer: { maxEpochs: 3, seed: 0 },
 *   hooks: ['modelSummary', { checkpoint: { monitor: 'val/loss', saveLast: true } }, 'progressBar'],
 *   test: { ckptPath: 'best' },
 * }
 */
export type RunConfig = t.OutputOf<typeof RunConfigCodec>

/** A module and export to load, with the arguments to call it with (when it is a function). */
export interface ModuleRef {
  /** An absolute path, or a package name. */
  readonly module: string
  readonly export: string
  readonly args?: Readonly<Record<string, unknown>>
}

/** A validated config with every default filled in: what `print-config` prints and `fit` saves. */
export interface ResolvedRunConfig {
  readonly name: string
  readonly runsDir: string
  readonly model: ModuleRef
  readonly data: ModuleRef
  /** Every trainer option with a value (defaults included); never `defaultRootDir`. */
  readonly trainer: TrainerOptions
  readonly hooks: readonly HookConfig[]
  readonly test?: { readonly ckptPath?: string }
}

export const DEFAULT_RUN_NAME = 'default'
export const DEFAULT_RUNS_DIR = 'runs'

/** The trainer options a config keeps: every resolved one with a value, except the run folder, which `fit` sets. */
const trainerOf = (o: ResolvedOptions): TrainerOptions =>
  Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'defaultRootDir')) as TrainerOptions

const refOf = (r: { readonly module: string; readonly export?: string; readonly args?: Readonly<Record<string, unknown>> }): ModuleRef => ({
  module: r.module,
  export: r.export ?? 'default',
  ...(r.args !== undefined && { args: r.args }),
})

/** Rules beyond each value's own: the run folder belongs to `rxtrain fit`. */
const ruleIssues = (raw: unknown): ConfigIssue[] => {
  const trainer = isPlainObject(raw) ? raw.trainer : undefined
  return isPlainObject(trainer) && trainer.defaultRootDir !== undefined
    ? [{ at: ['trainer', 'defaultRootDir'], message: 'is set by rxtrain to the run folder; choose where runs go with runsDir and name (or --run-dir)' }]
    : []
}

/**
 * Validates a merged config and fills in its defaults, or reports every issue (each with its path).
 *
 * @example
 * const resolved = resolveRunConfig(YAML.parse(text))
 * if (E.isLeft(resolved)) resolved.left.forEach((issue) => console.error(formatIssue(issue)))
 */
export const resolveRunConfig = (raw: unknown): E.Either<readonly ConfigIssue[], ResolvedRunConfig> => {
  const decoded = RunConfigCodec.decode(raw)
  const rules = ruleIssues(raw)
  if (E.isLeft(decoded)) return E.left([...issuesOf(decoded.left), ...rules])
  const c = decoded.right
  const { defaultRootDir: _, ...trainerGiven } = c.trainer ?? {}
  const trainer = parseTrainerOptions(trainerGiven)
  // Each option is valid on its own here; what is left are rules between options.
  const cross: ConfigIssue[] = E.isLeft(trainer)
    ? ((trainer.left.details.issues as readonly { readonly field: string; readonly problem: string }[] | undefined) ?? [{ field: String(trainer.left.details.field ?? ''), problem: trainer.left.problem }]).map((i) => ({
        at: ['trainer', ...(parseConfigPath(i.field) ?? [])],
        message: i.problem.startsWith(i.field) ? i.problem.slice(i.field.length).trim() : i.problem,
      }))
    : []
  const issues = [...rules, ...cross]
  if (issues.length > 0 || E.isLeft(trainer)) return E.left(issues)
  return E.right({
    name: c.name ?? DEFAULT_RUN_NAME,
    runsDir: c.runsDir ?? DEFAULT_RUNS_DIR,
    model: refOf(c.model),
    data: refOf(c.data),
    trainer: trainerOf(trainer.right),
    hooks: c.hooks ?? [],
    ...(c.test !== undefined && { test: c.test.ckptPath === undefined ? {} : { ckptPath: c.test.ckptPath } }),
  })
}

/** The resolved config as a plain object in its written form (for YAML), keys in a fixed order. */
export const encodeRunConfig = (c: ResolvedRunConfig): Record<string, unknown> => ({
  name: c.name,
  runsDir: c.runsDir,
  model: { ...c.model },
  data: { ...c.data },
  trainer: trainerSection.encode(c.trainer as t.TypeOf<typeof trainerSection>),
  hooks: c.hooks.map((h) => HookConfigCodec.encode(h)),
  ...(c.test !== undefined && { test: { ...c.test } }),
})

/**
 * The resolved config as YAML, as `print-config` prints it and `fit` saves it: plain (no anchors
 * for repeated values), and read back by `resolveRunConfig` to the same config.
 */
export const runConfigYaml = (c: ResolvedRunConfig): string => YAML.stringify(encodeRunConfig(c), { aliasDuplicateObjects: false })
