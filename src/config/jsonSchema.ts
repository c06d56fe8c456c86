import * as t from 'io-ts'

/*
 * JSON Schema (draft-07) from io-ts codecs, so that editors (yaml-language-server, VS Code)
 * complete and check run configs from the same codecs that validate them at run time. The schema
 * is a view for editors: where a codec checks something JSON Schema cannot say (a function's
 * verdict), it says the base type and the codec remains the judge.
 */

/** A JSON Schema document or subschema (the draft-07 keywords this generator writes). */
export interface JsonSchema {
  readonly $schema?: string
  readonly $ref?: string
  readonly title?: string
  readonly description?: string
  readonly type?: JsonType | readonly JsonType[]
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: readonly string[]
  readonly additionalProperties?: boolean | JsonSchema
  readonly items?: JsonSchema | readonly JsonSchema[]
  readonly minProperties?: number
  readonly maxProperties?: number
  readonly minItems?: number
  readonly maxItems?: number
  readonly enum?: readonly unknown[]
  readonly const?: unknown
  readonly anyOf?: readonly JsonSchema[]
  readonly allOf?: readonly JsonSchema[]
  readonly not?: JsonSchema
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly exclusiveMaximum?: number
  readonly minLength?: number
  readonly definitions?: Readonly<Record<string, JsonSchema>>
}

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array'

/** What a document's root carries besides the schema. */
export interface JsonSchemaOptions {
  /** Write `$schema: http://json-schema.org/draft-07/schema#` (default true). */
  readonly $schema?: boolean
  readonly title?: string
  readonly description?: string
  /**
   * Close plain object codecs (`t.type`, `t.partial`) too, not only exact ones: for codecs whose
   * parser rejects unknown keys itself after decoding. Default false.
   */
  readonly exactObjects?: boolean
  /** Descriptions of codecs that do not carry one (e.g. taken from doc comments by a build script). */
  readonly descriptions?: ReadonlyMap<t.Mixed, string>
}

/**
 * A codec that states its own schema: `toJsonSchema(sub)` (given the generator for its parts),
 * or plain data in `jsonSchema` (e.g. the trainer's `OptionType`s). Any codec may carry a
 * `description`.
 */
interface SelfDescribing {
  readonly toJsonSchema?: (sub: (codec: t.Mixed) => JsonSchema) => JsonSchema
  readonly jsonSchema?: JsonSchema
  readonly description?: string
}

export const DRAFT_07 = 'http://json-schema.org/draft-07/schema#'

/** Whether a schema is a plain object schema whose properties can be merged with another's. */
const isMergeable = (s: JsonSchema): boolean =>
  s.type === 'object' && Object.keys(s).every((k) => ['type', 'properties', 'required', 'additionalProperties', 'description'].includes(k)) && typeof s.additionalProperties !== 'object'

/** One object schema from the members of an intersection: properties and required keys united. */
const mergeObjects = (parts: readonly JsonSchema[]): JsonSchema => {
  const required = [...new Set(parts.flatMap((p) => p.required ?? []))]
  const closed = parts.some((p) => p.additionalProperties === false)
  return {
    type: 'object',
    properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})) as Record<string, JsonSchema>,
    ...(required.length > 0 ? { required } : {}),
    ...(closed ? { additionalProperties: false } : {}),
  }
}

/** Closes an object schema (exact codecs): merged intersections are closed over all their properties. */
const close = (s: JsonSchema): JsonSchema => (s.type === 'object' && s.additionalProperties === undefined ? { ...s, additionalProperties: false } : s)

/** Ranges written in words by refinement names: "an integer >= 0", "a number > 0", "an integer in [0, 10]". */
const rangeOfName = (name: string): JsonSchema | undefined => {
  const m = /^(?:an? )?(integer|number)\s*(>=|>|<=|<)\s*(-?[\d.e]+)$/i.exec(name.trim())
  if (m !== null) {
    const [, kind, op, n] = m as unknown as [string, string, string, string]
    const key = { '>=': 'minimum', '>': 'exclusiveMinimum', '<=': 'maximum', '<': 'exclusiveMaximum' }[op] as string
    return { type: kind.toLowerCase() === 'integer' ? 'integer' : 'number', [key]: Number(n) }
  }
  const r = /^(?:an? )?(integer|number) in \[(-?[\d.e]+),\s*(-?[\d.e]+)\]$/i.exec(name.trim())
  if (r !== null) {
    const [, kind, lo, hi] = r as unknown as [string, string, string, string]
    return { type: kind.toLowerCase() === 'integer' ? 'integer' : 'number', minimum: Number(lo), maximum: Number(hi) }
  }
  return undefined
}

/** Refinements whose meaning is known by name. */
const knownRefinements: Readonly<Record<string, JsonSchema>> = {
  Int: { type: 'integer' },
  NonEmptyString: { type: 'string', minLength: 1 },
}

/** A union of constants as one `enum`, which editors complete best. */
const union = (members: readonly JsonSchema[]): JsonSchema => {
  if (members.length > 0 && members.every((m) => 'const' in m && Object.keys(m).length === 1)) return { enum: members.map((m) => m.const) }
  if (members.every((m) => m.enum !== undefined && Object.keys(m).length === 1)) return { enum: members.flatMap((m) => m.enum ?? []) }
  return { anyOf: members }
}

/**
 * The JSON Schema (draft-07) of what `codec` accepts: objects (`t.type`, `t.partial`, exact ones
 * closed with `additionalProperties: false`, intersections merged so that closing still works),
 * unions, literals, `keyof` enums, arrays, tuples, records, the primitive types, refinements
 * (`t.Int` as integer, ranges named in words such as "an integer >= 0" as bounds, others as their
 * base type), recursive codecs (as `definitions` and `$ref`), codecs that state their own
 * schema, and descriptions attached with `described`.
 *
 * @example
 * jsonSchemaOf(t.type({ name: t.string, epochs: t.Int }), { title: 'Run' })
 * // { $schema: 'http://json-schema.org/draft-07/schema#', title: 'Run', type: 'object',
 * //   properties: { name: { type: 'string' }, epochs: { type: 'integer' } }, required: ['name', 'epochs'] }
 */
export const jsonSchemaOf = (codec: t.Mixed, options: JsonSchemaOptions = {}): JsonSchema => {
  const definitions: Record<string, JsonSchema> = {}
  const expanding = new Set<t.Mixed>()
  const referenced = new Set<string>()
  const names = new Map<t.Mixed, string>()

  const definitionName = (c: t.Mixed): string => {
    const known = names.get(c)
    if (known !== undefined) return known
    const base = c.name.replace(/[^\w.-]/g, '_') || 'Recursive'
    let name = base
    for (let i = 2; [...names.values()].includes(name); i++) name = `${base}${i}`
    names.set(c, name)
    return name
  }

  const withDescription = (c: t.Mixed, s: JsonSchema): JsonSchema => {
    const d = (c as SelfDescribing).description ?? options.descriptions?.get(c)
    return d !== undefined && s.description === undefined ? { ...s, description: d } : s
  }

  const sub = (c: t.Mixed): JsonSchema => withDescription(c, build(c))
  const object = (s: JsonSchema): JsonSchema => (options.exactObjects === true ? close(s) : s)

  const build = (c: t.Mixed): JsonSchema => {
    const self = c as SelfDescribing
    if (typeof self.toJsonSchema === 'function') return self.toJsonSchema(sub)
    if (self.jsonSchema !== undefined) return { ...self.jsonSchema }
    const a = c as t.Mixed & { readonly _tag?: string } & Record<string, unknown>
    switch (a._tag) {
      case 'UnknownType':
      case 'AnyType':
        return {}
      case 'StringType':
        return { type: 'string' }
      case 'NumberType':
        return { type: 'number' }
      case 'BigIntType':
        return { type: 'integer' }
      case 'BooleanType':
        return { type: 'boolean' }
      case 'NullType':
        return { type: 'null' }
      case 'UnknownRecordType':
      case 'AnyDictionaryType':
      case 'ObjectType':
        return { type: 'object' }
      case 'UnknownArrayType':
      case 'AnyArrayType':
        return { type: 'array' }
      case 'NeverType':
        return { not: {} }
      case 'LiteralType':
        return { const: (c as unknown as t.LiteralType<string | number | boolean>).value }
      case 'KeyofType':
        return { enum: Object.keys((c as unknown as t.KeyofType<Record<string, unknown>>).keys) }
      case 'InterfaceType': {
        const props = (c as unknown as t.InterfaceType<t.Props>).props
        const keys = Object.keys(props)
        return object({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, sub(props[k] as t.Mixed)])), ...(keys.length > 0 ? { required: keys } : {}) })
      }
      case 'PartialType': {
        const props = (c as unknown as t.PartialType<t.Props>).props
        return object({ type: 'object', properties: Object.fromEntries(Object.entries(props).map(([k, p]) => [k, sub(p)])) })
      }
      case 'ExactType':
      case 'StrictType':
        return close(sub((c as unknown as t.ExactType<t.Mixed>).type))
      case 'ReadonlyType':
        return sub((c as unknown as t.ReadonlyType<t.Mixed>).type)
      case 'IntersectionType': {
        const parts = (c as unknown as t.IntersectionType<t.Mixed[]>).types.map(sub)
        return parts.every(isMergeable) ? mergeObjects(parts) : { allOf: parts }
      }
      case 'UnionType':
        return union((c as unknown as t.UnionType<t.Mixed[]>).types.map(sub))
      case 'ArrayType':
      case 'ReadonlyArrayType':
        return { type: 'array', items: sub((c as unknown as t.ArrayType<t.Mixed>).type) }
      case 'TupleType':
      case 'ReadonlyTupleType': {
        const types = (c as unknown as t.TupleType<t.Mixed[]>).types
        return { type: 'array', items: types.map(sub), minItems: types.length, maxItems: types.length }
      }
      case 'DictionaryType': {
        const d = c as unknown as t.DictionaryType<t.Mixed, t.Mixed>
        const domain = build(d.domain)
        const value = sub(d.codomain)
        if (domain.enum !== undefined) {
          const keys = domain.enum.map(String)
          return { type: 'object', properties: Object.fromEntries(keys.map((k) => [k, value])), required: keys, additionalProperties: false }
        }
        return { type: 'object', additionalProperties: value }
      }
      case 'RefinementType': {
        const known = knownRefinements[c.name] ?? rangeOfName(c.name)
        return known ?? sub((c as unknown as t.RefinementType<t.Mixed>).type)
      }
      case 'RecursiveType': {
        const name = definitionName(c)
        if (expanding.has(c)) {
          referenced.add(name)
          return { $ref: `#/definitions/${name}` }
        }
        expanding.add(c)
        const body = sub((c as unknown as t.RecursiveType<t.Mixed>).type)
        expanding.delete(c)
        if (!referenced.has(name)) return body
        definitions[name] = body
        return { $ref: `#/definitions/${name}` }
      }
      default: {
        // A brand (`t.brand`) keeps its base in `type`, like a refinement.
        const inner = a['type']
        if (inner instanceof t.Type) return knownRefinements[c.name] ?? rangeOfName(c.name) ?? sub(inner as t.Mixed)
        // No way to know what this codec accepts: anything, with its name to say what is meant.
        return { description: c.name }
      }
    }
  }

  const { description: codecDescription, ...body } = sub(codec)
  const description = options.description ?? codecDescription
  return {
    ...(options.$schema === false ? {} : { $schema: DRAFT_07 }),
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(description !== undefined ? { description } : {}),
    ...body,
    ...(Object.keys(definitions).length > 0 ? { definitions: { ...body.definitions, ...definitions } } : {}),
  }
}
