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
import { describe } from '../pipeline/optionTypes.js'
import { optionCodecs } from './hookOptionCodecs.js'
import { suggestion, unknownKeyMessage } from './strictObject.js'

/*
 * The hooks of a run config: an ordered list whose entries are a hook's name (its default
 * options) or a one-key object `{ checkpoint: { monitor: val/loss } }`. Each hook's options have
 * a codec (hookOptionCodecs.ts) whose decoded type is the hook's own options type (the
 * `factories` record below does not compile otherwise). Options that are functions are not configurable; the hooks
 * offered are those of `fit` that take plain data (evalMetrics, collectPredictions and
 * trainedModel end other streams and have nothing to configure).
 */

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
