import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type Accelerator, accelerators } from '../backends/accelerator.js'
import { canonicalPrecision, defaultLossScaler, type LossScalerOptions, type PrecisionInput, type PrecisionName, precisionAliases, precisionNames } from '../backends/precision.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { nearestName } from './nearestName.js'
import { type GradNormMode, gradNormModes } from './gradNorms.js'
import { batchLimit, breaks, describe, integer, isInteger, nonEmptyString, numeric, ok, oneOf, OptionType, type BatchLimit, wrongType } from './optionTypes.js'

export type { BatchLimit } from './optionTypes.js'

const absentOr = (x: number | undefined, valid: (x: number) => boolean) => x === undefined || (Number.isFinite(x) && valid(x))
const scalerKeys: readonly string[] = ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval']
const scalerRule = 'an object with initScale > 0, growthFactor >= 1, backoffFactor in (0, 1) and an integer growthInterval >= 1 (each optional)'
const lossScaler = new OptionType<LossScalerOptions, Partial<LossScalerOptions>>(scalerRule, (u) => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return wrongType(scalerRule)
  const s = u as Record<string, unknown>
  const unknown = Object.keys(s).find((k) => !scalerKeys.includes(k))
  if (unknown !== undefined) return breaks(`an object of ${scalerKeys.join(', ')} (not '${unknown}')`)
  if (scalerKeys.some((k) => s[k] !== undefined && typeof s[k] !== 'number')) return wrongType(scalerRule)
  const p = u as Partial<LossScalerOptions>
  if (!absentOr(p.initScale, (x) => x > 0)) return breaks('an object whose initScale is a finite number > 0')
  if (!absentOr(p.growthFactor, (x) => x >= 1)) return breaks('an object whose growthFactor is >= 1')
  if (!absentOr(p.backoffFactor, (x) => x > 0 && x < 1)) return breaks('an object whose backoffFactor is in (0, 1)')
  if (!(p.growthInterval === undefined || (isInteger(p.growthInterval) && p.growthInterval >= 1))) return breaks('an object whose growthInterval is an integer >= 1')
  return ok({ ...defaultLossScaler, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) })
}, undefined, {
  type: 'object',
  properties: {
    initScale: { type: 'number', exclusiveMinimum: 0 },
    growthFactor: { type: 'number', minimum: 1 },
    backoffFactor: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    growthInterval: { type: 'integer', minimum: 1 },
  },
  additionalProperties: false,
})

const quotedPrecisions = precisionNames.map((n) => `'${n}'`).join(', ')
const precisionRule = `one of ${quotedPrecisions} or an alias (16, '16', 'bf16', 32, '32')`
const precision = new OptionType<PrecisionName, PrecisionInput>(
  precisionRule,
  (u) => {
    if (u === '64-true' || u === '64' || u === 64)
      return breaks('a precision TensorFlow.js can compute in: it has no float64 dtype, so no backend can compute in double precision')
    const name = canonicalPrecision(u)
    return name === undefined ? wrongType(precisionRule) : ok(name)
  },
  `use one of ${quotedPrecisions} (or 16, 'bf16', 32); '32-true' is the default.`,
  { enum: [...precisionNames, ...Object.keys(precisionAliases), 16, 32] },
)

const fastDevRunRule = 'true, false or an integer >= 0'

/**
 * The trainer's options: each one's type, range and meaning, with PyTorch Lightning's names (see
 * LIGHTNING-SEMANTICS.md). The single source of `TrainerOptions`, `ResolvedOptions` and their
 * checks; `parseTrainerOptions` decodes with it and fills in `defaultOptions`.
 */
export const TrainerOptionsCodec = t.partial(
  {
    /** Stop after this many epochs (-1: no limit). Default 1000 unless `maxSteps` is set. */
    maxEpochs: integer(-1),
    /** Do not honour stop requests before this many epochs. Default 0, or 1 when `minSteps` is given. */
    minEpochs: integer(0),
    /** Stop after this many optimizer steps (-1: no limit). */
    maxSteps: integer(-1),
    /** Do not honour stop requests before this many optimizer steps. */
    minSteps: integer(0),
    /** Training batches per epoch: a count, or a fraction of the source (0: no training). Default all. */
    limitTrainBatches: batchLimit(),
    /** Batches per validation run (0: no validation and no sanity check). Default all. */
    limitValBatches: batchLimit(),
    /** Batches of a test run. Default all. */
    limitTestBatches: batchLimit(),
    /** Batches of a predict run. Default all. */
    limitPredictBatches: batchLimit(),
    /**
     * Validate every n training batches, or after this fraction of an epoch (`{ fraction: 0 }`:
     * after every batch). Default `{ fraction: 1 }`. With `checkValEveryNEpoch: null` it must be
     * a count.
     */
    valCheckInterval: batchLimit(1, 'a batch count >= 1 or a fraction (0 batches would never validate; to turn validation off, set limitValBatches: 0)'),
    /** Validate in every n-th epoch; `null` counts `valCheckInterval` batches across epochs. Default 1. */
    checkValEveryNEpoch: new OptionType<number | null, number | null>('null or an integer >= 1', (u) =>
      u === null ? ok(null) : typeof u !== 'number' ? wrongType('null or an integer >= 1') : isInteger(u) && u >= 1 ? ok(u) : breaks('null or an integer >= 1'),
      undefined,
      { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }] },
    ),
    /** Validation batches run before training to catch bugs early (-1: all). Default 2. */
    numSanityValSteps: integer(-1),
    /** Sum gradients over k batches per optimizer step. Default 1. */
    accumulateGradBatches: integer(1),
    /** Clip gradients before each optimizer step (by global norm or by value). Default: no clipping. */
    gradientClipVal: numeric('a finite number >= 0', (n) => Number.isFinite(n) && n >= 0, { type: 'number', minimum: 0 }),
    /** How `gradientClipVal` clips: by the global norm (default) or each value. */
    gradientClipAlgorithm: oneOf(['norm', 'value']),
    /**
     * Log the gradients' L2 norm at every optimizer step (Lightning's `grad_norm`): `'off'`
     * (default: nothing computed, nothing read), `'global'` (`grad_norm`), `'per-group'` (also
     * `grad_norm_<group>` per top-level parameter entry), `'per-parameter'` (also per leaf). Read
     * back with the loss, in the same transfer.
     */
    logGradNorm: oneOf<GradNormMode>(gradNormModes),
    /** `true`: one batch of each stage, one epoch, no sanity check, no loggers; n: n batches. */
    fastDevRun: new OptionType<number, boolean | number>(fastDevRunRule, (u) =>
      typeof u === 'boolean' ? ok(u ? 1 : 0) : typeof u !== 'number' ? wrongType(fastDevRunRule) : isInteger(u) && u >= 0 ? ok(u) : breaks(fastDevRunRule),
      undefined,
      { anyOf: [{ type: 'boolean' }, { type: 'integer', minimum: 0 }] },
    ),
    /** Train (unshuffled) and validate on the first n batches (or a fraction) every epoch. Default 0 (off). */
    overfitBatches: batchLimit(),
    /** The run's seed: initialisation, shuffling and dropout are functions of it. Default 0. */
    seed: numeric('a safe integer', Number.isSafeInteger, { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
    /** Write training log rows every n optimizer steps. Default 50. */
    logEveryNSteps: integer(1),
    /** Lightning's `accelerator`: `'auto'` (default), `'gpu'` or a tfjs backend by name (see `Accelerator`). */
    accelerator: oneOf<Accelerator>(accelerators),
    /**
     * Lightning's precision names: `'32-true'` (default), `'16-mixed'`, `'bf16-mixed'`, `'16-true'`,
     * `'bf16-true'`, or the aliases `16`, `'16'`, `'bf16'`, `32`. Half precision is emulated (see
     * `PrecisionName`).
     */
    precision,
    /**
     * The dynamic loss scaler of `'16-mixed'` (PyTorch `GradScaler`'s settings): `initScale`
     * (default 2^16), `growthFactor` (2), `backoffFactor` (0.5), `growthInterval` (2000 steps).
     */
    lossScaler,
    /**
     * `'ddp'`: data-parallel training on `devices` ranks (this thread and worker threads), each with
     * its own tfjs engine; the module must say where workers import it from (`source`). Default
     * `'auto'` (one device).
     */
    strategy: oneOf(['auto', 'single', 'ddp']),
    /** Ranks for `strategy: 'ddp'`. Default 1. */
    devices: integer(1),
    /**
     * The run's directory: hooks write under it unless given their own (checkpoints in
     * `<dir>/checkpoints`, logs in `<dir>`). Default `'.'`.
     */
    defaultRootDir: nonEmptyString('a non-empty path'),
    /**
     * Resume from a checkpoint: a checkpoint directory, a pointer such as
     * `runs/x/checkpoints/last`, or `'last'` / `'best'` in `<defaultRootDir>/checkpoints`.
     */
    ckptPath: nonEmptyString("a checkpoint path, 'last' or 'best'"),
  },
  'TrainerOptions',
)

type Decoded = t.TypeOf<typeof TrainerOptionsCodec>

/**
 * The trainer's options as a user writes them: every one optional, documented on
 * `TrainerOptionsCodec`. `parseTrainerOptions` rejects unknown names and out-of-range values.
 *
 * @example
 * const options: TrainerOptions = { maxEpochs: 10, precision: 'bf16-mixed', accumulateGradBatches: 4, gradientClipVal: 1 }
 * fit(module, { train, val }, options).pipe(printMetrics()).subscribe()
 */
export type TrainerOptions = Readonly<t.OutputOf<typeof TrainerOptionsCodec>>

/** The options that have no default value (absent means "off" or "decided later"). */
type WithoutDefault = 'maxEpochs' | 'gradientClipVal' | 'ckptPath'

/** Every option present, its type boxed so that `-?` keeps `undefined` where there is no default. */
type Present = { [K in keyof Decoded]-?: [Decoded[K]] }

/**
 * Options after defaults, aliases resolved: what the loop reads.
 *
 * @example
 * const parsed = parseTrainerOptions({ maxEpochs: 3, precision: 16, fastDevRun: true })
 * if (E.isRight(parsed)) {
 *   const options: ResolvedOptions = parsed.right
 *   console.log(options.precision, options.fastDevRun, options.numSanityValSteps) // '16-mixed' 1 2
 * }
 */
export type ResolvedOptions = { readonly [K in keyof Present]: K extends WithoutDefault ? Present[K][0] : Exclude<Present[K][0], undefined> }

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
  logGradNorm: 'off',
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

const optionNames = Object.keys(TrainerOptionsCodec.props) as (keyof ResolvedOptions)[]

/** One thing wrong with the options. */
interface Issue {
  readonly field: string
  readonly problem: string
  readonly remedy: string
}

const issueOf = (e: t.ValidationError): Issue => {
  const field = e.context.map((c) => c.key).filter((k) => k !== '').join('.') || 'options'
  const type = e.context.at(-1)?.type
  const rule = type instanceof OptionType ? type.rule : 'what its documentation says'
  const remedy = type instanceof OptionType && type.remedy !== undefined ? type.remedy : `set ${field} to ${rule}.`
  return { field, problem: `${field} ${e.message ?? `has the wrong type: ${describe(e.value)}`}`, remedy }
}

const unknownOption = (name: string): Issue => {
  const near = nearestName(name, optionNames)
  return { field: name, problem: `unknown option '${name}'`, remedy: near !== undefined ? `did you mean '${near}'?` : `known options: ${optionNames.join(', ')}.` }
}

/** Rules between options, once each option is valid on its own (Lightning's `_DataConnector.on_trainer_init`). */
const crossIssues = (given: Decoded): Issue[] => [...valCheckIssues(given), ...gradNormIssues(given)]

/** The data-parallel step sums the ranks' gradients in its update half, where no norm is taken yet: refused rather than silently not logged. */
const gradNormIssues = (given: Decoded): Issue[] =>
  given.strategy === 'ddp' && given.logGradNorm !== undefined && given.logGradNorm !== 'off'
    ? [{ field: 'logGradNorm', problem: `logGradNorm '${given.logGradNorm}' is not supported with strategy 'ddp' yet`, remedy: "leave logGradNorm 'off' under strategy 'ddp', or train on one device to log gradient norms." }]
    : []

const valCheckIssues = (given: Decoded): Issue[] =>
  given.checkValEveryNEpoch === null && given.valCheckInterval !== undefined && !isInteger(given.valCheckInterval)
    ? [
        {
          field: 'valCheckInterval',
          problem: `valCheckInterval must be a batch count when checkValEveryNEpoch is null (it counts batches across epochs), got ${describe(given.valCheckInterval)}`,
          remedy: 'give valCheckInterval as an integer batch count, or set checkValEveryNEpoch to an epoch count.',
        },
      ]
    : []

const configError = (issues: readonly Issue[]): RxtrainError<'ConfigError'> => {
  const [first] = issues
  if (issues.length === 1 && first !== undefined) return rxtrainError('ConfigError', first.problem, first.remedy, { field: first.field })
  return rxtrainError(
    'ConfigError',
    `${issues.length} trainer options are wrong: ${issues.map((i, n) => `(${n + 1}) ${i.problem}`).join('; ')}`,
    issues.map((i, n) => `(${n + 1}) ${i.remedy}`).join(' '),
    { field: first?.field, fields: issues.map((i) => i.field), issues },
  )
}

/**
 * Validates trainer options and fills in defaults, or reports every bad option (its name, the value
 * given and the rule it breaks) and how to fix it. Resolves Lightning's aliases: precision's short
 * names, `fastDevRun: true` as 1, and `minSteps` without `minEpochs` as `minEpochs: 1`.
 *
 * @example
 * const parsed = parseTrainerOptions({ maxEpoch: 3 })
 * if (E.isLeft(parsed)) console.error(parsed.left.message)
 * // ConfigError: unknown option 'maxEpoch'
 * //   How to fix: did you mean 'maxEpochs'?
 */
export const parseTrainerOptions = (input: unknown): E.Either<RxtrainError<'ConfigError'>, ResolvedOptions> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return E.left(configError([{ field: 'options', problem: `trainer options must be an object, got ${describe(input)}`, remedy: 'pass e.g. { maxEpochs: 3 }.' }]))
  const unknown = Object.keys(input)
    .filter((name) => !(optionNames as string[]).includes(name))
    .map(unknownOption)
  const decoded = TrainerOptionsCodec.decode(input)
  const issues = [...unknown, ...(E.isLeft(decoded) ? decoded.left.map(issueOf) : crossIssues(decoded.right))]
  if (issues.length > 0 || E.isLeft(decoded)) return E.left(configError(issues))
  const given = Object.fromEntries(Object.entries(decoded.right).filter(([, v]) => v !== undefined)) as Decoded
  const minEpochs = given.minEpochs ?? (given.minSteps !== undefined ? 1 : defaultOptions.minEpochs)
  return E.right({ ...defaultOptions, ...given, minEpochs })
}

/** The known option nearest to a misspelt one, if any is close. */
export const suggestOption = (name: string): string | undefined => nearestName(name, optionNames)
