import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { nearestName } from '../pipeline/nearestName.js'
import { describe } from '../pipeline/optionTypes.js'

/*
 * Objects of a config that reject unknown keys (a misspelt `patiense` must not be dropped
 * silently, as io-ts's `t.exact` would), each one reported at its own path with a did-you-mean,
 * and annotated codecs whose descriptions the JSON Schema carries to editors.
 */

/** A codec with a description for the JSON Schema (editors show it on hover). */
export type Described<C> = C & { readonly description: string }

/**
 * The same codec with a description attached, for `jsonSchemaOf`. A copy, so that one codec can
 * be described differently in two places.
 *
 * @example
 * const patience = described(integer(0), 'Checks without improvement tolerated before stopping. Default 3.')
 */
export const described = <C extends t.Any>(codec: C, description: string): Described<C> =>
  Object.assign(Object.create(Object.getPrototypeOf(codec) as object) as C, codec, { description })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** The message for a key that `keys` does not have: a did-you-mean when one is close, else the list. */
export const unknownKeyMessage = (key: string, keys: readonly string[], what = 'option'): string => `is not a known ${what}${suggestion(key, keys)}`

/** `; did you mean 'x'?` when a name in `keys` is close to `key`, else ` (known: a, b, c)`. */
export const suggestion = (key: string, keys: readonly string[]): string => {
  const near = nearestName(key, keys)
  return near !== undefined ? `; did you mean '${near}'?` : ` (known: ${keys.join(', ') || 'none'})`
}

type StrictOf<R extends t.Props, P extends t.Props> = t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<P>>
type StrictOutputOf<R extends t.Props, P extends t.Props> = t.OutputOf<t.TypeC<R>> & t.OutputOf<t.PartialC<P>>

/**
 * An object codec with required and optional properties that fails on unknown keys (each at its
 * path, with a did-you-mean), on missing required ones and on non-objects, and decodes to the
 * known properties only. Every error's path is `...parent.key`: io-ts's own `t.intersection`
 * would put the member's index into the path (`earlyStopping.1.patience`).
 */
export class StrictObjectType<R extends t.Props, P extends t.Props> extends t.Type<StrictOf<R, P>, StrictOutputOf<R, P>, unknown> {
  readonly _tag = 'StrictObjectType' as const
  readonly keys: readonly string[]
  constructor(
    name: string,
    readonly required: R,
    readonly optional: P,
  ) {
    const keys = [...Object.keys(required), ...Object.keys(optional)]
    const props: Readonly<Record<string, t.Mixed>> = { ...optional, ...required }
    const validate = (u: unknown, c: t.Context): t.Validation<StrictOf<R, P>> => {
      if (!isRecord(u)) return t.failure(u, c, `must be an object${keys.length > 0 ? ` of ${keys.join(', ')}` : ''}, got ${describe(u)}`)
      const errors: t.ValidationError[] = []
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(u))
        if (!keys.includes(k)) errors.push({ value: u[k], context: [...c, { key: k, type: t.never, actual: u[k] }], message: unknownKeyMessage(k, keys) })
      for (const [k, codec] of Object.entries(props)) {
        const v = u[k]
        const context = [...c, { key: k, type: codec, actual: v }]
        if (v === undefined) {
          if (k in required) errors.push({ value: v, context, message: `is required: ${codec.name}` })
          continue
        }
        const decoded = codec.validate(v, context)
        if (E.isLeft(decoded)) errors.push(...decoded.left)
        else out[k] = decoded.right
      }
      return errors.length > 0 ? t.failures(errors) : t.success(out as StrictOf<R, P>)
    }
    super(
      name,
      (u): u is StrictOf<R, P> => E.isRight(validate(u, [])) && isRecord(u) && Object.keys(u).every((k) => keys.includes(k)),
      validate,
      (a) => Object.fromEntries(Object.entries(a as Record<string, unknown>).map(([k, v]) => [k, props[k] === undefined || v === undefined ? v : (props[k] as t.Mixed).encode(v)])) as StrictOutputOf<R, P>,
    )
    this.keys = keys
  }
  /** An exact object schema: its properties, the required ones, nothing else. */
  toJsonSchema<S>(sub: (codec: t.Mixed) => S): { type: 'object'; properties: Record<string, S>; required?: string[]; additionalProperties: false } {
    const required = Object.keys(this.required)
    return {
      type: 'object',
      properties: Object.fromEntries(this.keys.map((k) => [k, sub((this.required[k] ?? this.optional[k]) as t.Mixed)])),
      ...(required.length > 0 ? { required } : {}),
      additionalProperties: false,
    }
  }
}

/**
 * A strict object of required and optional properties.
 *
 * @example
 * const Duration = strictObject('Duration', {}, { hours: t.number, minutes: t.number })
 * Duration.decode({ hour: 1 })   // Left: hour is not a known option; did you mean 'hours'?
 */
export const strictObject = <R extends t.Props, P extends t.Props>(name: string, required: R, optional: P): StrictObjectType<R, P> =>
  new StrictObjectType(name, required, optional)

const kindOf = (u: unknown): string => (u === null ? 'null' : Array.isArray(u) ? 'array' : typeof u)

/**
 * A union whose member is chosen by the value's kind (number, string, boolean, object, array,
 * null), so that an error comes from that member alone: `maxTime: -1` says the number's range,
 * not also that -1 is not an object (io-ts's `t.union` reports every member). A value of no
 * member's kind fails with `rule`.
 */
export class KindUnionType<C extends readonly [t.Mixed, ...t.Mixed[]]> extends t.Type<t.TypeOf<C[number]>, t.OutputOf<C[number]>, unknown> {
  readonly _tag = 'KindUnionType' as const
  constructor(
    readonly rule: string,
    readonly members: Readonly<Record<string, C[number]>>,
  ) {
    const validate = (u: unknown, c: t.Context): t.Validation<t.TypeOf<C[number]>> => {
      const member = members[kindOf(u)]
      return member === undefined ? t.failure(u, c, `must be ${rule}, got ${describe(u)}`) : member.validate(u, c)
    }
    super(rule, (u): u is t.TypeOf<C[number]> => members[kindOf(u)]?.is(u) ?? false, validate, (a) => {
      const member = members[kindOf(a)]
      return member === undefined ? a : member.encode(a)
    })
  }
  /** `anyOf` the members. */
  toJsonSchema<S>(sub: (codec: t.Mixed) => S): { anyOf: S[] } {
    return { anyOf: [...new Set(Object.values(this.members))].map((m) => sub(m)) }
  }
}

/**
 * A union dispatched on the value's kind.
 *
 * @example
 * const maxTime = kindUnion('milliseconds or { hours, minutes }', { number: t.number, object: Duration })
 */
export const kindUnion = <C extends readonly [t.Mixed, ...t.Mixed[]]>(rule: string, members: Readonly<Partial<Record<'number' | 'string' | 'boolean' | 'object' | 'array' | 'null', C[number]>>>) =>
  new KindUnionType<C>(rule, members as Readonly<Record<string, C[number]>>)
