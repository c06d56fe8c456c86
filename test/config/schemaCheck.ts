import type { JsonSchema } from '../../src/config/jsonSchema.js'

/*
 * A small JSON Schema (draft-07) validator for the keywords jsonSchemaOf writes, so tests can
 * check configs against the generated schema without a new dependency. `keywordsOutsideSubset`
 * guards the other side: a schema using a keyword this checker does not know fails its test.
 */

const KNOWN = new Set([
  '$schema', '$ref', 'title', 'description', 'type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'enum', 'const', 'anyOf', 'allOf', 'not', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'definitions',
])

const equal = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

const typeOk = (type: string, v: unknown): boolean => {
  switch (type) {
    case 'null':
      return v === null
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v)
    case 'number':
      return typeof v === 'number'
    case 'array':
      return Array.isArray(v)
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v)
    default:
      return typeof v === type
  }
}

/** The keywords (with their paths) of `schema` that this checker does not implement. */
export const keywordsOutsideSubset = (schema: unknown, path = '#'): string[] => {
  if (typeof schema !== 'object' || schema === null) return []
  const s = schema as Record<string, unknown>
  const out = Object.keys(s).filter((k) => !KNOWN.has(k)).map((k) => `${path}/${k}`)
  const children = (k: string, v: unknown): string[] =>
    Array.isArray(v) ? v.flatMap((x, i) => keywordsOutsideSubset(x, `${path}/${k}/${i}`)) : keywordsOutsideSubset(v, `${path}/${k}`)
  for (const k of ['properties', 'definitions'])
    for (const [name, sub] of Object.entries((s[k] as Record<string, unknown> | undefined) ?? {})) out.push(...keywordsOutsideSubset(sub, `${path}/${k}/${name}`))
  for (const k of ['items', 'anyOf', 'allOf', 'not', 'additionalProperties']) if (typeof s[k] === 'object') out.push(...children(k, s[k]))
  return out
}

/** Every way `value` breaks `schema` (empty: it validates), each with its JSON path. */
export const schemaErrors = (schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = '$'): string[] => {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/definitions/', '')
    const target = root.definitions?.[name]
    return target === undefined ? [`${path}: unresolved $ref ${schema.$ref}`] : schemaErrors(target, value, root, path)
  }
  const errors: string[] = []
  const at = (msg: string) => errors.push(`${path}: ${msg}`)
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type
    if (!types.some((t) => typeOk(t, value))) return [`${path}: expected ${types.join(' or ')}, got ${JSON.stringify(value)}`]
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => equal(e, value))) at(`not one of ${JSON.stringify(schema.enum)}`)
  if ('const' in schema && !equal(schema.const, value)) at(`not ${JSON.stringify(schema.const)}`)
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) at(`${value} < minimum ${schema.minimum}`)
    if (schema.maximum !== undefined && value > schema.maximum) at(`${value} > maximum ${schema.maximum}`)
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) at(`${value} <= exclusiveMinimum ${schema.exclusiveMinimum}`)
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) at(`${value} >= exclusiveMaximum ${schema.exclusiveMaximum}`)
  }
  if (typeof value === 'string' && schema.minLength !== undefined && value.length < schema.minLength) at(`shorter than ${schema.minLength}`)
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) at(`fewer than ${schema.minItems} items`)
    if (schema.maxItems !== undefined && value.length > schema.maxItems) at(`more than ${schema.maxItems} items`)
    const items = schema.items
    if (Array.isArray(items)) value.forEach((v, i) => items[i] !== undefined && errors.push(...schemaErrors(items[i] as JsonSchema, v, root, `${path}[${i}]`)))
    else if (items !== undefined) value.forEach((v, i) => errors.push(...schemaErrors(items as JsonSchema, v, root, `${path}[${i}]`)))
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>
    for (const r of schema.required ?? []) if (!(r in o)) at(`missing required '${r}'`)
    const n = Object.keys(o).length
    if (schema.minProperties !== undefined && n < schema.minProperties) at(`fewer than ${schema.minProperties} properties`)
    if (schema.maxProperties !== undefined && n > schema.maxProperties) at(`more than ${schema.maxProperties} properties`)
    for (const [k, v] of Object.entries(o)) {
      const p = schema.properties?.[k]
      if (p !== undefined) errors.push(...schemaErrors(p, v, root, `${path}.${k}`))
      else if (schema.additionalProperties === false) at(`unknown property '${k}'`)
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(schema.additionalProperties, v, root, `${path}.${k}`))
    }
  }
  if (schema.allOf !== undefined) for (const s of schema.allOf) errors.push(...schemaErrors(s, value, root, path))
  if (schema.anyOf !== undefined) {
    const each = schema.anyOf.map((s) => schemaErrors(s, value, root, path))
    if (!each.some((e) => e.length === 0)) at(`matches none of anyOf: ${each.map((e) => e.join('; ')).join(' | ')}`)
  }
  if (schema.not !== undefined && schemaErrors(schema.not, value, root, path).length === 0) at('matches not')
  return errors
}
