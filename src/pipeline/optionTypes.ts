import * as t from 'io-ts'

/*
 * The building blocks of the trainer options' codec (options.ts): one io-ts type per kind of
 * option, each decoding to its normal form or failing with the rule it breaks, in words.
 */

/**
 * A batch count or a fraction of the available batches. JavaScript has one number type, so
 * Lightning's `1` (one batch) vs `1.0` (all batches) is written `1` vs `{ fraction: 1 }`; a
 * non-integer number such as `0.25` is read as a fraction too.
 *
 * @example
 * const quarter: BatchLimit = { fraction: 0.25 }
 * fit(module, { train, val }, { limitTrainBatches: quarter, limitValBatches: 10 }).subscribe()
 */
export type BatchLimit = number | { readonly fraction: number }

/** A value as a message quotes it: strings in quotes, numbers as printed (NaN, Infinity), the rest as JSON. */
export const describe = (v: unknown): string => {
  if (typeof v === 'string') return `'${v}'`
  if (typeof v !== 'object' || v === null) return String(v)
  try {
    return JSON.stringify(v)
  } catch {
    return String(v)
  }
}

/** What an option's value is: its normal form, or the rule it breaks (`wrongType`: not even the right kind of value). */
export type Verdict<A> = { readonly ok: A } | { readonly broken: string; readonly wrongType?: true }
export const ok = <A>(a: A): Verdict<A> => ({ ok: a })
export const breaks = (rule: string): Verdict<never> => ({ broken: rule })
export const wrongType = (rule: string): Verdict<never> => ({ broken: rule, wrongType: true })

const sameValue = (a: unknown, b: unknown): boolean => a === b || (typeof a === 'object' && typeof b === 'object' && describe(a) === describe(b))

/**
 * The JSON Schema (draft-07) of what an option accepts, as plain data. The verdict is a function
 * that no generator can read, so each option type states its schema beside its rule; the config
 * layer's `jsonSchemaOf` uses it (and a freshness test keeps the shipped schema in step).
 */
export type OptionSchema = Readonly<Record<string, unknown>>

/**
 * One option's codec. Decoding gives the value's normal form (`A`, what the loop reads) from what a
 * user writes (`O`), or fails with the rule broken; `rule` and `remedy` word the ConfigError,
 * `jsonSchema` says the same rule to editors.
 */
export class OptionType<A extends O, O> extends t.Type<A, O, unknown> {
  constructor(readonly rule: string, verdict: (u: unknown) => Verdict<A>, readonly remedy?: string, readonly jsonSchema?: OptionSchema) {
    const is = (u: unknown): u is A => {
      const v = verdict(u)
      return 'ok' in v && sameValue(v.ok, u)
    }
    super(rule, is, (u, c) => {
      const v = verdict(u)
      if ('ok' in v) return t.success(v.ok)
      return t.failure(u, c, v.wrongType === true ? `has the wrong type: ${describe(u)}; it must be ${v.broken}` : `must be ${v.broken}, got ${describe(u)}`)
    }, (a) => a)
  }
}

export const isInteger = (u: unknown): u is number => typeof u === 'number' && Number.isInteger(u)

/** A number option: the wrong type unless a number, out of range unless `valid`. */
export const numeric = (rule: string, valid: (n: number) => boolean, jsonSchema: OptionSchema = { type: 'number' }) =>
  new OptionType<number, number>(rule, (u) => (typeof u !== 'number' ? wrongType(rule) : valid(u) ? ok(u) : breaks(rule)), undefined, jsonSchema)

/** An integer >= `min` (and <= `max` when given). */
export const integer = (min: number, max?: number) =>
  max === undefined
    ? numeric(`an integer >= ${min}`, (n) => Number.isInteger(n) && n >= min, { type: 'integer', minimum: min })
    : numeric(`an integer in [${min}, ${max}]`, (n) => Number.isInteger(n) && n >= min && n <= max, { type: 'integer', minimum: min, maximum: max })

export const oneOf = <const K extends string>(values: readonly K[]) => {
  const rule = `one of ${values.map((v) => `'${v}'`).join(', ')}`
  return new OptionType<K, K>(rule, (u) => ((values as readonly unknown[]).includes(u) ? ok(u as K) : wrongType(rule)), undefined, { enum: [...values] })
}

export const nonEmptyString = (rule: string) =>
  new OptionType<string, string>(rule, (u) => (typeof u !== 'string' ? wrongType(rule) : u !== '' ? ok(u) : breaks(rule)), undefined, { type: 'string', minLength: 1 })

export const isBatchLimit = (u: unknown): u is BatchLimit =>
  typeof u === 'number' || (typeof u === 'object' && u !== null && !Array.isArray(u) && typeof (u as { fraction?: unknown }).fraction === 'number')

/** A count >= `minCount`, a non-integer number in (0, 1), or `{ fraction }` in [0, 1]. */
export const batchLimit = (minCount = 0, zero?: string) => {
  const rule = `a batch count >= ${minCount} or a fraction in [0, 1] (a number below 1, or { fraction })`
  const jsonSchema: OptionSchema = {
    anyOf: [
      { type: 'integer', minimum: minCount },
      { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      { type: 'object', properties: { fraction: { type: 'number', minimum: 0, maximum: 1 } }, required: ['fraction'], additionalProperties: false },
    ],
  }
  return new OptionType<BatchLimit, BatchLimit>(
    rule,
    (u) => {
      if (!isBatchLimit(u)) return wrongType(rule)
      const f = typeof u === 'number' ? u : u.fraction
      if (isInteger(u)) return u >= minCount ? ok(u) : breaks(u === 0 && zero !== undefined ? zero : rule)
      return f >= 0 && f <= 1 && (typeof u !== 'number' || f > 0) ? ok(u) : breaks(rule)
    },
    undefined,
    jsonSchema,
  )
}

