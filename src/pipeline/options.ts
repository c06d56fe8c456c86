import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type Accelerator, accelerators } from '../backends/accelerator.js'
import { canonicalPrecision, defaultLossScaler, type LossScalerOptions, type PrecisionInput, type PrecisionName, precisionAliases, precisionNames } from '../backends/precision.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { nearestName } from './nearestName.js'

/**
 * A batch count or a fraction of the available batches. JavaScript has one number type, so
 * Lightning's `1` (one batch) vs `1.0` (all batches) is written `1` vs `{ fraction: 1 }`; a
 * non-integer number such as `0.25` is read as a fraction too.
 */
export type BatchLimit = number | { readonly fraction: number }

/**
 * The trainer's options, with PyTorch Lightning's names and meanings (see LIGHTNING-SEMANTICS.md).
 * Every option is optional; `parseTrainerOptions` rejects unknown names and out-of-range values.
 */
export interface TrainerOptions {
  /** Stop after this many epochs (-1: no limit). Default 1000 unless `maxSteps` is set. */
  readonly maxEpochs?: number
  /** Do not honour stop requests before this many epochs. */
  readonly minEpochs?: number
  /** Stop after this many optimizer steps (-1: no limit). */
  readonly maxSteps?: number
  /** Do not honour stop requests before this many optimizer steps. */
  readonly minSteps?: number
  readonly limitTrainBatches?: BatchLimit
  readonly limitValBatches?: BatchLimit
  readonly limitTestBatches?: BatchLimit
  readonly limitPredictBatches?: BatchLimit
  /** Validate every n training batches, or after this fraction of an epoch. Default `{ fraction: 1 }`. */
  readonly valCheckInterval?: BatchLimit
  /** Validate in every n-th epoch; `null` counts `valCheckInterval` batches across epochs. Default 1. */
  readonly checkValEveryNEpoch?: number | null
  /** Validation batches run before training to catch bugs early (-1: all). Default 2. */
  readonly numSanityValSteps?: number
  /** Sum gradients over k batches per optimizer step. Default 1. */
  readonly accumulateGradBatches?: number
  /** Clip gradients before each optimizer step (by global norm or by value). */
  readonly gradientClipVal?: number
  readonly gradientClipAlgorithm?: 'norm' | 'value'
  /** `true`: one batch of each stage, one epoch, no sanity check, no loggers; n: n batches. */
  readonly fastDevRun?: boolean | number
  /** Train (unshuffled) and validate on the first n batches (or a fraction) every epoch. */
  readonly overfitBatches?: BatchLimit
  /** The run's seed: initialisation, shuffling and dropout are functions of it. Default 0. */
  readonly seed?: number
  /** Write training log rows every n optimizer steps. Default 50. */
  readonly logEveryNSteps?: number
  readonly accelerator?: Accelerator
  /**
   * Lightning's precision names: `'32-true'` (default), `'16-mixed'`, `'bf16-mixed'`, `'16-true'`,
   * `'bf16-true'`, or the aliases `16`, `'16'`, `'bf16'`, `32`. Half precision is emulated (see
   * `PrecisionName`).
   */
  readonly precision?: PrecisionInput
  /**
   * The dynamic loss scaler of `'16-mixed'` (PyTorch `GradScaler`'s settings): `initScale`
   * (default 2^16), `growthFactor` (2), `backoffFactor` (0.5), `growthInterval` (2000 steps).
   */
  readonly lossScaler?: Partial<LossScalerOptions>
  /**
   * `'ddp'`: data-parallel training on `devices` ranks (this thread and worker threads), each with
   * its own tfjs engine; the module must say where workers import it from (`source`). Default
   * `'auto'` (one device).
   */
  readonly strategy?: 'auto' | 'single' | 'ddp'
  /** Ranks for `strategy: 'ddp'`. Default 1. */
  readonly devices?: number
  /**
   * The run's directory: hooks write under it unless given their own (checkpoints in
   * `<dir>/checkpoints`, logs in `<dir>`). Default `'.'`.
   */
  readonly defaultRootDir?: string
  /**
   * Resume from a checkpoint: a checkpoint directory, a pointer such as
   * `runs/x/checkpoints/last`, or `'last'` / `'best'` in `<defaultRootDir>/checkpoints`.
   */
  readonly ckptPath?: string
}

/** Options after defaults: what the loop reads. */
export interface ResolvedOptions {
  readonly maxEpochs: number | undefined
  readonly minEpochs: number
  readonly maxSteps: number
  readonly minSteps: number
  readonly limitTrainBatches: BatchLimit
  readonly limitValBatches: BatchLimit
  readonly limitTestBatches: BatchLimit
  readonly limitPredictBatches: BatchLimit
  readonly valCheckInterval: BatchLimit
  readonly checkValEveryNEpoch: number | null
  readonly numSanityValSteps: number
  readonly accumulateGradBatches: number
  readonly gradientClipVal: number | undefined
  readonly gradientClipAlgorithm: 'norm' | 'value'
  readonly fastDevRun: number
  readonly overfitBatches: BatchLimit
  readonly seed: number
  readonly logEveryNSteps: number
  readonly accelerator: Accelerator
  readonly precision: PrecisionName
  readonly lossScaler: LossScalerOptions
  readonly strategy: 'auto' | 'single' | 'ddp'
  readonly devices: number
  readonly defaultRootDir: string
  readonly ckptPath: string | undefined
}

const all: BatchLimit = { fraction: 1 }

export const defaultOptions: ResolvedOptions = {
  maxEpochs: undefined,
  minEpochs: 0,
  maxSteps: -1,
  minSteps: 0,
  limitTrainBatches: all,
  limitValBatches: all,
  limitTestBatches: all,
  limitPredictBatches: all,
  valCheckInterval: all,
  checkValEveryNEpoch: 1,
  numSanityValSteps: 2,
  accumulateGradBatches: 1,
  gradientClipVal: undefined,
  gradientClipAlgorithm: 'norm',
  fastDevRun: 0,
  overfitBatches: 0,
  seed: 0,
  logEveryNSteps: 50,
  accelerator: 'auto',
  precision: '32-true',
  lossScaler: defaultLossScaler,
  strategy: 'auto',
  devices: 1,
  defaultRootDir: '.',
  ckptPath: undefined,
}

const batchLimit = t.union([t.number, t.type({ fraction: t.number })])
const keyOf = <const K extends string>(keys: readonly K[]) =>
  t.keyof(Object.fromEntries(keys.map((k) => [k, null])) as Record<K, null>)

/** The io-ts codec of `TrainerOptions` (types only; ranges are checked by `parseTrainerOptions`). */
export const TrainerOptionsCodec = t.partial({
  maxEpochs: t.number,
  minEpochs: t.number,
  maxSteps: t.number,
  minSteps: t.number,
  limitTrainBatches: batchLimit,
  limitValBatches: batchLimit,
  limitTestBatches: batchLimit,
  limitPredictBatches: batchLimit,
  valCheckInterval: batchLimit,
  checkValEveryNEpoch: t.union([t.number, t.null]),
  numSanityValSteps: t.number,
  accumulateGradBatches: t.number,
  gradientClipVal: t.number,
  gradientClipAlgorithm: keyOf(['norm', 'value']),
  fastDevRun: t.union([t.boolean, t.number]),
  overfitBatches: batchLimit,
  seed: t.number,
  logEveryNSteps: t.number,
  accelerator: keyOf(accelerators),
  precision: t.union([keyOf([...precisionNames, ...(Object.keys(precisionAliases) as (keyof typeof precisionAliases)[])]), t.literal(16), t.literal(32)]),
  lossScaler: t.partial({ initScale: t.number, growthFactor: t.number, backoffFactor: t.number, growthInterval: t.number }),
  strategy: keyOf(['auto', 'single', 'ddp']),
  devices: t.number,
  defaultRootDir: t.string,
  ckptPath: t.string,
})

// The codec and the documented interface must describe the same options (checked both ways).
const decodedIsOptions = (o: t.TypeOf<typeof TrainerOptionsCodec>): TrainerOptions => o
const optionsAreDecodable = (o: TrainerOptions): t.TypeOf<typeof TrainerOptionsCodec> => o as { [K in keyof TrainerOptions]: TrainerOptions[K] } & t.TypeOf<typeof TrainerOptionsCodec>
void decodedIsOptions
void optionsAreDecodable

const optionNames = Object.keys(defaultOptions) as (keyof ResolvedOptions)[]

type Check = (value: unknown) => string | undefined

const integerAtLeast =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min ? undefined : `an integer >= ${min}`

const limitCheck: Check = (v) => {
  if (typeof v === 'number')
    return Number.isInteger(v) ? (v >= 0 ? undefined : 'a count >= 0') : v > 0 && v < 1 ? undefined : 'a fraction in [0, 1]'
  if (typeof v === 'object' && v !== null && 'fraction' in v) {
    const f = (v as { fraction: number }).fraction
    return f >= 0 && f <= 1 ? undefined : 'a fraction in [0, 1]'
  }
  return 'a batch count or { fraction }'
}

const rules: Partial<Record<keyof TrainerOptions, Check>> = {
  maxEpochs: integerAtLeast(-1),
  minEpochs: integerAtLeast(0),
  maxSteps: integerAtLeast(-1),
  minSteps: integerAtLeast(0),
  limitTrainBatches: limitCheck,
  limitValBatches: limitCheck,
  limitTestBatches: limitCheck,
  limitPredictBatches: limitCheck,
  valCheckInterval: (v) => limitCheck(v) ?? (v === 0 || (typeof v === 'object' && v !== null && (v as { fraction: number }).fraction === 0) ? 'a positive interval (0 would never validate; use limitValBatches: 0 to disable validation)' : undefined),
  checkValEveryNEpoch: (v) => (v === null ? undefined : integerAtLeast(1)(v)),
  numSanityValSteps: integerAtLeast(-1),
  accumulateGradBatches: integerAtLeast(1),
  gradientClipVal: (v) => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? undefined : 'a finite number >= 0'),
  fastDevRun: (v) => (typeof v === 'boolean' ? undefined : integerAtLeast(0)(v)),
  overfitBatches: limitCheck,
  seed: (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? undefined : 'a safe integer'),
  logEveryNSteps: integerAtLeast(1),
  devices: integerAtLeast(1),
  lossScaler: (v) => {
    const s = v as Partial<LossScalerOptions>
    const positive = (x: number | undefined) => x === undefined || (Number.isFinite(x) && x > 0)
    if (!positive(s.initScale)) return 'an object whose initScale is a finite number > 0'
    if (s.growthFactor !== undefined && !(Number.isFinite(s.growthFactor) && s.growthFactor >= 1)) return 'an object whose growthFactor is >= 1'
    if (s.backoffFactor !== undefined && !(s.backoffFactor > 0 && s.backoffFactor < 1)) return 'an object whose backoffFactor is in (0, 1)'
    return integerAtLeast(1)(s.growthInterval ?? 1) === undefined ? undefined : 'an object whose growthInterval is an integer >= 1'
  },
  defaultRootDir: (v) => (typeof v === 'string' && v !== '' ? undefined : 'a non-empty path'),
  ckptPath: (v) => (typeof v === 'string' && v !== '' ? undefined : "a checkpoint path, 'last' or 'best'"),
}

const configError = (field: string, problem: string, remedy: string): RxtrainError<'ConfigError'> =>
  rxtrainError('ConfigError', problem, remedy, { field })

const describe = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v))

/**
 * Validates trainer options and fills in defaults, or names the first bad option and how to fix it.
 *
 * @example
 * parseTrainerOptions({ maxEpoch: 3 })
 * // Left(ConfigError: unknown option 'maxEpoch' ... did you mean 'maxEpochs'?)
 */
export const parseTrainerOptions = (input: unknown): E.Either<RxtrainError<'ConfigError'>, ResolvedOptions> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return E.left(configError('options', `trainer options must be an object, got ${describe(input)}`, 'pass e.g. { maxEpochs: 3 }.'))
  for (const name of Object.keys(input)) {
    if (!(optionNames as string[]).includes(name)) {
      const near = nearestName(name, optionNames)
      return E.left(
        configError(
          name,
          `unknown option '${name}'`,
          near !== undefined ? `did you mean '${near}'?` : `known options: ${optionNames.join(', ')}.`,
        ),
      )
    }
  }
  const precision = (input as { precision?: unknown }).precision
  if (precision === '64-true' || precision === '64' || precision === 64)
    return E.left(
      configError(
        'precision',
        `precision ${describe(precision)} is not available: TensorFlow.js has no float64 dtype, so no backend can compute in double precision`,
        "use precision: '32-true' (the default).",
      ),
    )
  const decoded = TrainerOptionsCodec.decode(input)
  if (E.isLeft(decoded)) {
    const first = decoded.left[0]
    const field = first?.context.map((c) => c.key).filter((k) => k !== '')[0] ?? 'options'
    const remedy =
      field === 'precision'
        ? `use one of ${precisionNames.map((n) => `'${n}'`).join(', ')} (or 16, 'bf16', 32).`
        : `see the TrainerOptions documentation for ${field}.`
    return E.left(configError(field, `option ${field} has the wrong type: ${describe(first?.value)}`, remedy))
  }
  const options = decoded.right
  for (const [name, check] of Object.entries(rules) as [keyof TrainerOptions, Check][]) {
    const value = options[name]
    if (value === undefined) continue
    const expected = check(value)
    if (expected !== undefined)
      return E.left(configError(name, `option ${name} must be ${expected}, got ${describe(value)}`, `set ${name} to ${expected}.`))
  }
  const fastDevRun = options.fastDevRun === true ? 1 : options.fastDevRun === false || options.fastDevRun === undefined ? 0 : options.fastDevRun
  return E.right({
    ...defaultOptions,
    ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<ResolvedOptions>),
    fastDevRun,
    precision: canonicalPrecision(options.precision ?? defaultOptions.precision) ?? defaultOptions.precision,
    lossScaler: { ...defaultLossScaler, ...options.lossScaler },
  })
}

/** The known option nearest to a misspelt one, if any is close. */
export const suggestOption = (name: string): string | undefined => nearestName(name, optionNames)
