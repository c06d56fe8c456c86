import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { MonoTypeOperatorFunction, OperatorFunction } from 'rxjs'
import { checkpoint } from '../hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../hooks/csvLogger.js'
import { earlyStopping } from '../hooks/earlyStopping.js'
import { jsonlLogger } from '../hooks/jsonlLogger.js'
import { lrMonitor } from '../hooks/lrMonitor.js'
import { modelSummary } from '../hooks/modelSummary.js'
import { printMetrics } from '../hooks/printMetrics.js'
import { progressBar } from '../hooks/progressBar.js'
import { tensorboard } from '../hooks/tensorboard.js'
import { timer } from '../hooks/timer.js'
import type { FitEvent } from '../pipeline/events.js'
import { describe, integer, nonEmptyString, numeric, oneOf } from '../pipeline/optionTypes.js'
import { described, kindUnion, strictObject, suggestion, unknownKeyMessage } from './strictObject.js'

/*
 * The hooks of a run config: an ordered list whose entries are a hook's name (its default
 * options) or a one-key object `{ checkpoint: { monitor: val/loss } }`. Each hook's options have
 * a codec here whose decoded type is the hook's own options type (the `factories` record below
 * does not compile otherwise), with ranges named in words ("an integer >= 0") so that a config
 * error says what was expected. Options that are functions are not configurable; the hooks
 * offered are those of `fit` that take plain data (evalMetrics, collectPredictions and
 * trainedModel end other streams and have nothing to configure).
 */

const dir = (what: string) => described(nonEmptyString('a non-empty path'), `The directory of ${what}. Default: the run folder (the trainer's defaultRootDir).`)
const flushEvery = described(integer(1), 'Write after this many new rows (and always at every epoch end and at the end). Default 100.')
const mode = (what: string) => described(oneOf(['min', 'max']), `'min' (default) when lower ${what} is better (losses), 'max' when higher is (accuracies).`)
const finite = (rule: string) => numeric(rule, Number.isFinite)
const nonNegative = (what: string) => described(numeric('a finite number >= 0', (n) => Number.isFinite(n) && n >= 0, { type: 'number', minimum: 0 }), what)

const checkpointOptions = strictObject(
  'CheckpointOptions',
  {},
  {
    dir: dir('the checkpoints (default <defaultRootDir>/checkpoints)'),
    filename: described(nonEmptyString('a non-empty name template'), "Name template, e.g. '{epoch}-{step}-{val/loss:.4f}'. Default '{epoch}-{step}'."),
    monitor: described(nonEmptyString('a logged metric name'), 'The logged value that ranks checkpoints, e.g. val/loss; without one, the latest checkpoints are kept.'),
    mode: mode('monitored values'),
    saveTopK: described(integer(-1), 'How many checkpoints to keep: k best (or latest), -1 all, 0 none. Default 1.'),
    saveLast: described(t.boolean, 'Also keep a `last` pointer at the newest checkpoint. Default false.'),
    everyNEpochs: described(integer(0), 'Save every n epochs (default 1 unless everyNTrainSteps or trainTimeInterval is given; 0: off).'),
    everyNTrainSteps: described(integer(0), 'Save every n optimizer steps (0: off).'),
    trainTimeInterval: described(
      numeric('a number of milliseconds > 0', (n) => Number.isFinite(n) && n > 0, { type: 'number', exclusiveMinimum: 0 }),
      'Save when this many milliseconds have passed since the last save.',
    ),
    saveWeightsOnly: described(t.boolean, 'Store parameters and model state only (for inference; cannot resume training).'),
    dtype: described(oneOf(['float32', 'float16', 'bfloat16']), "The dtype the weights are stored in. Default: the precision policy's storage (float32 unless a '16-true'/'bf16-true' run)."),
    saveOnTrainEpochEnd: described(t.boolean, "Save at the end of the training epoch rather than after validation (Lightning's rule decides by default)."),
    autoInsertMetricName: described(t.boolean, '{val/loss} in filename becomes val_loss=0.31 (true, default) or 0.31 (false).'),
    saveOnInterrupt: described(t.boolean, 'On SIGINT/SIGTERM, save and point `last` at it. Default true.'),
  },
)

const earlyStoppingOptions = strictObject(
  'EarlyStoppingOptions',
  { monitor: described(nonEmptyString('a logged metric name'), 'The logged value to watch, e.g. val/loss.') },
  {
    minDelta: nonNegative('The least change that counts as an improvement. Default 0.'),
    patience: described(integer(0), 'Checks without improvement tolerated before stopping. Default 3.'),
    mode: mode('monitored values'),
    strict: described(t.boolean, 'A monitor that was not logged is an error (true, default) or skipped (false).'),
    checkFinite: described(t.boolean, 'Stop when the monitored value is NaN or infinite. Default true.'),
    stoppingThreshold: described(finite('a finite number'), 'Stop as soon as the value is better than this.'),
    divergenceThreshold: described(finite('a finite number'), 'Stop as soon as the value is worse than this.'),
    checkOnTrainEpochEnd: described(t.boolean, "Check at training epoch end (after its validation) rather than after each validation; Lightning's rule by default."),
  },
)

const csvLoggerOptions = strictObject(
  'CsvLoggerOptions',
  {},
  {
    dir: dir('metrics.csv and hparams.yaml'),
    hparams: described(t.UnknownRecord, 'Your own hyperparameters, written to hparams.yaml beside the trainer options.'),
    flushEvery,
  },
)

const jsonlLoggerOptions = strictObject('JsonlLoggerOptions', {}, { dir: dir('metrics.jsonl'), flushEvery })

const hparamValue = t.union([t.number, t.string, t.boolean])
const tensorboardOptions = strictObject(
  'TensorBoardOptions',
  {},
  {
    dir: dir('the event files'),
    flushEvery: described(integer(1), 'Write buffered records once this many have gathered (also at every epoch end and at the end). Default 100.'),
    hparams: described(
      kindUnion('an object of numbers, strings and booleans, or false', { object: t.record(t.string, hparamValue), boolean: t.literal(false) }),
      "Hyperparameters for TensorBoard's HParams dashboard (numbers, strings, booleans), added to the trainer options; false writes none.",
    ),
  },
)

const digits = described(integer(0, 100), 'Digits after the decimal point of metric values. Default 4.')
const progressBarOptions = strictObject(
  'ProgressBarOptions',
  {},
  {
    refreshRate: described(integer(1), "TTY: redraw the bar every this many batches (Lightning's refresh_rate). Default 1."),
    everyNSteps: described(integer(1), 'Not a TTY: one line every this many training batches of an epoch. Default 50.'),
    digits,
  },
)

const printMetricsOptions = strictObject('PrintMetricsOptions', {}, { digits })

const modelSummaryOptions = strictObject(
  'ModelSummaryOptions',
  {},
  {
    maxDepth: described(
      numeric('-1 or an integer >= 1', (n) => n === -1 || (Number.isInteger(n) && n >= 1), { anyOf: [{ const: -1 }, { type: 'integer', minimum: 1 }] }),
      '1 (default): a row per layer; 2: a row per layer/tensor path; -1: a row per tensor.',
    ),
  },
)

const lrMonitorOptions = strictObject(
  'LrMonitorOptions',
  {},
  {
    loggingInterval: described(oneOf(['step', 'epoch']), "'step' (default): log on every training batch; 'epoch': at each epoch's end."),
    prefix: described(t.string, "Prepended to each name, e.g. 'optim/' gives optim/lr. Default none."),
    logMomentum: described(t.boolean, 'Also log momentum when the optimizer reports one. Default false.'),
    logWeightDecay: described(t.boolean, 'Also log weightDecay when the optimizer reports one. Default false.'),
  },
)

const durationPart = nonNegative
const timerOptions = strictObject(
  'TimerOptions',
  {
    maxTime: described(
      kindUnion('a number of milliseconds >= 0 or { days, hours, minutes, seconds }', {
        number: numeric('a number of milliseconds >= 0', (n) => Number.isFinite(n) && n >= 0, { type: 'number', minimum: 0 }),
        object: strictObject(
          'Duration',
          {},
          { days: durationPart('Days.'), hours: durationPart('Hours.'), minutes: durationPart('Minutes.'), seconds: durationPart('Seconds.') },
        ),
      }),
      'The training time budget: milliseconds, or { days, hours, minutes, seconds }.',
    ),
  },
  { interval: described(oneOf(['step', 'epoch']), "Check after every training batch ('step', default) or at each epoch end ('epoch').") },
)

/** Each configurable hook's options codec, in the order `HOOK_NAMES` lists them. */
const optionCodecs = {
  modelSummary: described(modelSummaryOptions, "Lightning's ModelSummary: prints the model's tensors by layer at the start."),
  progressBar: described(progressBarOptions, 'A progress bar on a TTY, else a line every everyNSteps batches.'),
  printMetrics: described(printMetricsOptions, "Prints each epoch's metrics as one line."),
  checkpoint: described(checkpointOptions, "Lightning's ModelCheckpoint: saves checkpoints (best k by a monitored metric, last)."),
  earlyStopping: described(earlyStoppingOptions, "Lightning's EarlyStopping: stops when the monitored metric stops improving."),
  lrMonitor: described(lrMonitorOptions, "Lightning's LearningRateMonitor: logs the optimizer's learning rate (and momentum)."),
  timer: described(timerOptions, "Lightning's Timer: stops training after a time budget."),
  csvLogger: described(csvLoggerOptions, "Lightning's CSVLogger: metrics.csv and hparams.yaml in the run folder."),
  jsonlLogger: described(jsonlLoggerOptions, 'metrics.jsonl in the run folder, one JSON object per logged row.'),
  tensorboard: described(tensorboardOptions, 'TensorBoard event files (scalars and hparams) in the run folder.'),
} as const

type OptionCodecs = typeof optionCodecs

/** A hook a config can name. */
export type HookName = keyof OptionCodecs

/** Each hook's options as a config gives them (decoded). */
export type HookOptionsOf = { readonly [K in HookName]: t.TypeOf<OptionCodecs[K]> }

/** Every hook name a config may use, for messages (did-you-mean) and editors. */
export const HOOK_NAMES: readonly HookName[] = Object.keys(optionCodecs) as HookName[]

/** Hooks that have required options, so they cannot be named alone. */
const needsOptions = ['earlyStopping', 'timer'] as const satisfies readonly HookName[]

/** A hook that may be written as its bare name, with its default options. */
export type DefaultHookName = Exclude<HookName, (typeof needsOptions)[number]>

/** The names that may stand alone. */
export const DEFAULT_HOOK_NAMES: readonly DefaultHookName[] = HOOK_NAMES.filter((n): n is DefaultHookName => !(needsOptions as readonly string[]).includes(n))

/**
 * One entry of a config's `hooks` list: a hook's name (default options) or `{ name: options }`.
 *
 * @example
 * const hooks: HookConfig[] = ['modelSummary', { checkpoint: { monitor: 'val/loss', saveTopK: 2 } }, 'tensorboard']
 */
export type HookConfig = DefaultHookName | { readonly [K in HookName]: { readonly [P in K]: HookOptionsOf[K] } }[HookName]

/** What each hook needs for an example of its options, in messages about a bare name. */
const requiredExample: Readonly<Record<(typeof needsOptions)[number], string>> = {
  earlyStopping: '{ earlyStopping: { monitor: val/loss } }',
  timer: '{ timer: { maxTime: { hours: 1 } } }',
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

const hookRule = `a hook name (${HOOK_NAMES.join(', ')}) or a one-key object { name: options }`

const validateEntry = (u: unknown, c: t.Context): t.Validation<HookConfig> => {
  if (typeof u === 'string') {
    if ((DEFAULT_HOOK_NAMES as readonly string[]).includes(u)) return t.success(u as DefaultHookName)
    const example = (requiredExample as Readonly<Record<string, string>>)[u]
    if (example !== undefined) return t.failure(u, c, `names the hook '${u}' without its required options; write it as ${example}`)
    return t.failure(u, c, `names an unknown hook '${u}'${suggestion(u, HOOK_NAMES)}`)
  }
  if (!isRecord(u)) return t.failure(u, c, `must be ${hookRule}, got ${describe(u)}`)
  const keys = Object.keys(u)
  const [name] = keys
  if (name === undefined || keys.length !== 1) return t.failure(u, c, `must be a one-key object { name: options }, got keys ${keys.map((k) => `'${k}'`).join(', ') || '(none)'}`)
  const codec = (optionCodecs as Readonly<Record<string, t.Mixed>>)[name]
  const value = u[name]
  if (codec === undefined) return t.failures([{ value, context: [...c, { key: name, type: t.never, actual: value }], message: unknownKeyMessage(name, HOOK_NAMES, 'hook') }])
  const decoded = codec.validate(value ?? {}, [...c, { key: name, type: codec, actual: value }])
  return E.isLeft(decoded) ? decoded : t.success({ [name]: decoded.right } as HookConfig)
}

/** The io-ts type of one hook entry; `toJsonSchema` describes its shape to editors. */
class HookConfigType extends t.Type<HookConfig, HookConfig, unknown> {
  readonly _tag = 'HookConfigType' as const
  constructor() {
    super('HookConfig', (u): u is HookConfig => E.isRight(validateEntry(u, [])), validateEntry, (a) => a)
  }
  /**
   * `anyOf`: a bare name, or one object whose single key is a hook (one object with every hook
   * as an optional key, rather than one object per hook, so that an editor completes the names
   * and reports a wrong option at its own path instead of "matches none of ten").
   */
  toJsonSchema<S>(sub: (codec: t.Mixed) => S): { readonly anyOf: readonly unknown[]; readonly description: string } {
    return {
      description: 'A hook: its name (default options) or { name: options }. Hooks run in list order.',
      anyOf: [
        { enum: [...DEFAULT_HOOK_NAMES], description: 'A hook with its default options.' },
        {
          type: 'object',
          description: 'A hook with options: { name: options }, one key.',
          properties: Object.fromEntries(
            HOOK_NAMES.map((name) => [
              name,
              // `- csvLogger:` with nothing after it is YAML's null: the default options.
              (needsOptions as readonly string[]).includes(name) ? sub(optionCodecs[name]) : { anyOf: [sub(optionCodecs[name]), { type: 'null' }] },
            ]),
          ),
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
        },
      ],
    }
  }
}

/**
 * The codec of one entry of `hooks`. Errors name the path (`hooks[1].earlyStopping.patience`),
 * the rule broken, and a did-you-mean for a misspelt hook or option name.
 *
 * @example
 * HookConfigCodec.decode({ earlyStopping: { monitor: 'val/loss', patience: 3 } })   // Right
 * HookConfigCodec.decode('tensorbord')   // Left: did you mean 'tensorboard'?
 */
export const HookConfigCodec: t.Type<HookConfig, HookConfig, unknown> = new HookConfigType()

type Operator = MonoTypeOperatorFunction<FitEvent>

/** Each hook's factory, typed by its decoded options: this record is the check that codecs and option types agree. */
const factories: { readonly [K in HookName]: (options: HookOptionsOf[K]) => Operator } = {
  modelSummary,
  progressBar,
  printMetrics,
  checkpoint,
  earlyStopping,
  lrMonitor,
  timer,
  csvLogger,
  jsonlLogger,
  tensorboard,
}

/** The name and options of an entry (a bare name has empty options). */
export const hookEntry = (hook: HookConfig): { readonly name: HookName; readonly options: HookOptionsOf[HookName] } => {
  if (typeof hook === 'string') return { name: hook, options: {} }
  const [name, options] = Object.entries(hook)[0] as [HookName, HookOptionsOf[HookName]]
  return { name, options }
}

/**
 * The operators of decoded hook entries, in the order given (pipe order). A hook's own checks
 * (e.g. checkpoint's `saveTopK > 1` needs a `monitor`) throw its ConfigError here.
 *
 * @example
 * const ops = hookOperators(['modelSummary', { checkpoint: { monitor: 'val/loss' } }])
 * fit(module, data, options).pipe(...ops)
 */
export const hookOperators = (hooks: readonly HookConfig[]): readonly OperatorFunction<FitEvent, FitEvent>[] =>
  hooks.map((hook) => {
    const { name, options } = hookEntry(hook)
    return (factories[name] as (options: HookOptionsOf[HookName]) => Operator)(options)
  })
