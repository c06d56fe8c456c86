import * as t from 'io-ts'
import { integer, nonEmptyString, numeric, oneOf } from '../pipeline/optionTypes.js'
import { described, kindUnion, strictObject } from './strictObject.js'

/*
 * The options codec of each hook a run config may name (`hooksConfig.ts` builds the entries and
 * the operators from them). Each decodes to the hook's own options type, which `hooksConfig.ts`'s
 * `factories` record checks at compile time; ranges are named in words ("an integer >= 0") so
 * that a config error says what was expected.
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
export const optionCodecs = {
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
