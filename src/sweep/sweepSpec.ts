import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { parseConfigPath } from '../config/configPath.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { nearestName } from '../pipeline/nearestName.js'
import { described } from '../config/strictObject.js'
import { describe, integer, numeric } from '../pipeline/optionTypes.js'

/*
 * A sweep spec (`sweep.yaml`): the run config(s) a sweep starts from, how it searches, and the
 * config paths it varies. The codec gives the shape (and the JSON Schema editors check the file
 * with); `parseSweepSpec` adds the rules between fields and words every mistake with its path.
 */

/** The random distributions a parameter can be drawn from (random search only). */
export const DISTRIBUTIONS = ['uniform', 'log_uniform', 'int_uniform'] as const
export type Distribution = (typeof DISTRIBUTIONS)[number]

const ValuesParameterCodec = t.type(
  { values: described(t.readonlyArray(t.unknown), 'The values to try: every one in a grid, one chosen at random per trial in a random search.') },
  'ValuesParameter',
)
const RangeParameterCodec = t.type(
  {
    distribution: described(
      t.keyof({ uniform: null, log_uniform: null, int_uniform: null }),
      'How a random search draws the value: uniform in [min, max], log_uniform (uniform in log space; min > 0, e.g. learning rates), int_uniform (an integer in [min, max]).',
    ),
    min: described(t.number, 'The smallest value (included).'),
    max: described(t.number, 'The largest value (included).'),
  },
  'RangeParameter',
)

/** One swept config path: a list of values (grid, or a random choice), or a range to draw from (random). */
export const ParameterSpecCodec = t.union([ValuesParameterCodec, RangeParameterCodec], 'ParameterSpec')
export type ParameterSpec = t.TypeOf<typeof ParameterSpecCodec>

/**
 * The sweep file, as written: `config` (one run config file or several merged in order, relative
 * to the sweep file), `parameters` (config path -> values or range), and optionally `name` (the
 * sweep's folder under `runsDir`), `method` (`grid`, the default, or `random`), `trials` (random:
 * how many), `seed`, `parallel` (trials at once), `monitor` and `mode` (the metric that sorts
 * the results table), `set` (config path -> value for every trial, e.g. a smaller data limit).
 */
export const SweepSpecCodec = t.intersection(
  [
    t.type({
      config: described(t.union([t.string, t.array(t.string)]), 'The run config file(s) every trial starts from, relative to the sweep file; several merge in order.'),
      parameters: described(
        t.record(t.string, ParameterSpecCodec),
        'The config paths to vary (model.args.lr, trainer.maxEpochs, hooks[0].checkpoint.monitor), each with values: [...] or a distribution with min and max.',
      ),
    }),
    t.partial({
      name: described(t.string, "The sweep's folder under runsDir. Default: the run's name followed by -sweep."),
      runsDir: described(t.string, "Where the sweep's folder goes (relative to the working directory). Default: the run config's runsDir, else runs."),
      method: described(t.keyof({ grid: null, random: null }), 'grid (default): every combination of the values; random: trials draws.'),
      trials: described(integer(1), 'How many trials a random search draws (random only).'),
      seed: described(numeric('an integer', Number.isSafeInteger, { type: 'integer' }), "The random search's seed (default 0): the same seed draws the same trials."),
      parallel: described(integer(1), 'Trials run at once, each in a process of its own (default 1; --parallel overrides it).'),
      monitor: described(t.string, 'The metric that ranks the trials in the results table, e.g. val/loss.'),
      mode: described(t.keyof({ min: null, max: null }), 'min (default): lower monitor values rank first; max: higher ones.'),
      set: described(t.record(t.string, t.unknown), 'Config path -> value set in every trial, e.g. trainer.limitTrainBatches: 50.'),
    }),
  ],
  'SweepSpec',
)
export type SweepSpecInput = t.TypeOf<typeof SweepSpecCodec>

/** A validated sweep spec with its defaults filled in. */
export interface SweepSpec {
  readonly config: readonly string[]
  readonly name: string | undefined
  readonly runsDir: string | undefined
  readonly method: 'grid' | 'random'
  readonly trials: number | undefined
  readonly seed: number
  readonly parallel: number
  readonly monitor: string | undefined
  readonly mode: 'min' | 'max'
  /** Config path -> value, set in every trial before its own values. */
  readonly set: readonly (readonly [string, unknown])[]
  /** Config path -> values or range, in the order the file lists them. */
  readonly parameters: readonly (readonly [string, ParameterSpec])[]
}

/** One thing wrong with a sweep file. */
export interface SpecIssue {
  readonly path: string
  readonly problem: string
  readonly remedy: string
}

const TOP_KEYS = ['config', 'parameters', 'name', 'runsDir', 'method', 'trials', 'seed', 'parallel', 'monitor', 'mode', 'set']
const PARAM_KEYS = ['values', 'distribution', 'min', 'max']

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
const paramPath = (name: string): string => `parameters[${JSON.stringify(name)}]`
const issue = (path: string, expected: string, given: unknown, remedy?: string): SpecIssue => ({
  path,
  problem: `${path}: expected ${expected}, got ${describe(given)}`,
  remedy: remedy ?? `set ${path} to ${expected}.`,
})
const unknownKeys = (where: string, o: Record<string, unknown>, known: readonly string[]): SpecIssue[] =>
  Object.keys(o)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const near = nearestName(k, known)
      const path = where === '' ? k : `${where}.${k}`
      return { path, problem: `${path}: unknown key '${k}'`, remedy: near !== undefined ? `did you mean '${near}'?` : `known keys: ${known.join(', ')}.` }
    })

const check = (ok: boolean, path: string, expected: string, given: unknown, remedy?: string): SpecIssue[] => (ok ? [] : [issue(path, expected, given, remedy)])
const optional = (o: Record<string, unknown>, k: string, valid: (u: unknown) => boolean, expected: string): SpecIssue[] =>
  o[k] === undefined ? [] : check(valid(o[k]), k, expected, o[k])
const isInt = (u: unknown): u is number => typeof u === 'number' && Number.isSafeInteger(u)
const isFiniteNumber = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u)

const parameterIssues = (name: string, p: unknown, method: unknown): SpecIssue[] => {
  const at = paramPath(name)
  const shape = '{ values: [...] } or { distribution: uniform | log_uniform | int_uniform, min, max }'
  if (parseConfigPath(name) === undefined) return [issue(at, 'a config path such as model.args.lr', name, 'name a config field with dots between its keys, e.g. trainer.maxEpochs.')]
  if (!isObject(p)) return [issue(at, shape, p)]
  const extra = unknownKeys(at, p, PARAM_KEYS)
  if ('values' in p) {
    const both = p.distribution !== undefined ? [issue(`${at}.distribution`, 'no distribution next to values (give one or the other)', p.distribution, `remove ${at}.distribution or ${at}.values.`)] : []
    return [...extra, ...both, ...check(Array.isArray(p.values) && p.values.length > 0, `${at}.values`, 'a non-empty list', p.values)]
  }
  if (!('distribution' in p)) return [...extra, issue(at, shape, p)]
  const d = p.distribution
  const issues = [...extra, ...check((DISTRIBUTIONS as readonly unknown[]).includes(d), `${at}.distribution`, `one of ${DISTRIBUTIONS.join(', ')}`, d)]
  issues.push(...check(isFiniteNumber(p.min), `${at}.min`, 'a finite number', p.min), ...check(isFiniteNumber(p.max), `${at}.max`, 'a finite number', p.max))
  if (isFiniteNumber(p.min) && isFiniteNumber(p.max)) {
    issues.push(...check(p.min <= p.max, `${at}.max`, `a number >= min (${p.min})`, p.max))
    if (d === 'log_uniform') issues.push(...check(p.min > 0, `${at}.min`, 'a number > 0 (a log-uniform range lies above 0)', p.min))
    if (d === 'int_uniform') issues.push(...check(isInt(p.min), `${at}.min`, 'an integer', p.min), ...check(isInt(p.max), `${at}.max`, 'an integer', p.max))
  }
  if (method !== 'random')
    issues.push(issue(`${at}.distribution`, `values: [...] (a grid cannot enumerate a ${describe(d)} range)`, d, `set method: random (with trials: N) to draw from ranges, or list the grid's values in ${at}.values.`))
  return issues
}

/** Every mistake in a sweep file, each with its path, what was expected and what was given. */
export const sweepSpecIssues = (u: unknown): SpecIssue[] => {
  if (!isObject(u)) return [issue('sweep', 'an object with config and parameters', u, 'write e.g. { config: run.yaml, parameters: { model.args.lr: { values: [0.01, 0.001] } } }.')]
  const method = u.method ?? 'grid'
  const issues = [...unknownKeys('', u, TOP_KEYS)]
  const cfg = u.config
  if (cfg === undefined) issues.push({ path: 'config', problem: 'config: missing', remedy: 'name the run config the trials start from, e.g. config: run.yaml (relative to the sweep file).' })
  else issues.push(...check((typeof cfg === 'string' && cfg !== '') || (Array.isArray(cfg) && cfg.length > 0 && cfg.every((c) => typeof c === 'string' && c !== '')), 'config', 'a file name or a non-empty list of file names', cfg))
  issues.push(...optional(u, 'name', (v) => typeof v === 'string' && /^[\w.-]+$/.test(v), 'a folder name (letters, digits, _ . -)'))
  issues.push(...optional(u, 'runsDir', (v) => typeof v === 'string' && v !== '', 'a folder path'))
  issues.push(...optional(u, 'method', (v) => v === 'grid' || v === 'random', "'grid' or 'random'"))
  issues.push(...optional(u, 'trials', (v) => isInt(v) && v >= 1, 'an integer >= 1'))
  issues.push(...optional(u, 'seed', isInt, 'an integer'))
  issues.push(...optional(u, 'parallel', (v) => isInt(v) && v >= 1, 'an integer >= 1'))
  issues.push(...optional(u, 'monitor', (v) => typeof v === 'string' && v !== '', 'a metric name such as val/loss'))
  issues.push(...optional(u, 'mode', (v) => v === 'min' || v === 'max', "'min' or 'max'"))
  if (u.set !== undefined) {
    if (!isObject(u.set)) issues.push(issue('set', 'a map from config path to value, e.g. { trainer.limitTrainBatches: 50 }', u.set))
    else
      for (const path of Object.keys(u.set))
        if (parseConfigPath(path) === undefined) issues.push(issue(`set[${JSON.stringify(path)}]`, 'a config path such as trainer.limitTrainBatches', path, 'name a config field with dots between its keys.'))
  }
  if (method === 'grid' && u.trials !== undefined)
    issues.push(issue('trials', 'no trial count for a grid (it runs every combination of the values)', u.trials, 'remove trials, or set method: random to draw that many trials.'))
  if (method === 'random' && u.trials === undefined) issues.push({ path: 'trials', problem: 'trials: missing (a random search needs a trial count)', remedy: 'add trials: N (e.g. trials: 6).' })
  if (u.parameters === undefined) issues.push({ path: 'parameters', problem: 'parameters: missing', remedy: 'add parameters: { <config path>: { values: [...] } }, e.g. model.args.lr: { values: [0.01, 0.001] }.' })
  else if (!isObject(u.parameters) || Object.keys(u.parameters).length === 0)
    issues.push(issue('parameters', 'a non-empty map from config path to { values } or { distribution, min, max }', u.parameters))
  else for (const [name, p] of Object.entries(u.parameters)) issues.push(...parameterIssues(name, p, method))
  return issues
}

const specError = (issues: readonly SpecIssue[], file: string): RxtrainError<'ConfigError'> =>
  rxtrainError(
    'ConfigError',
    `${file} has ${issues.length === 1 ? 'a mistake' : `${issues.length} mistakes`}:\n${issues.map((i) => `    ${i.problem}`).join('\n')}`,
    issues.map((i) => `${i.path}: ${i.remedy}`).join('\n    '),
    { file, field: issues[0]?.path, fields: issues.map((i) => i.path), issues },
  )

/**
 * Validates a sweep file's contents (parsed YAML) and fills in the defaults (grid, seed 0, one
 * trial at a time, mode min), or reports all its mistakes at once.
 *
 * @example
 * const spec = parseSweepSpec({ config: 'run.yaml', parameters: { 'model.args.lr': { values: [0.1, 0.01] } } })
 * // Right({ method: 'grid', parallel: 1, parameters: [['model.args.lr', { values: [0.1, 0.01] }]], ... })
 */
export const parseSweepSpec = (u: unknown, file = 'the sweep file'): E.Either<RxtrainError<'ConfigError'>, SweepSpec> => {
  const issues = sweepSpecIssues(u)
  const decoded = SweepSpecCodec.decode(u)
  if (issues.length > 0 || E.isLeft(decoded)) return E.left(specError(issues.length > 0 ? issues : [issue('sweep', 'a sweep spec', u)], file))
  const s = decoded.right
  return E.right({
    config: typeof s.config === 'string' ? [s.config] : s.config,
    name: s.name,
    runsDir: s.runsDir,
    method: s.method ?? 'grid',
    trials: s.trials,
    seed: s.seed ?? 0,
    parallel: s.parallel ?? 1,
    monitor: s.monitor,
    mode: s.mode ?? 'min',
    set: Object.entries(s.set ?? {}),
    parameters: Object.entries(s.parameters),
  })
}
