/**
 * JSON cannot hold NaN or ±Infinity, and a run's numbers may be either (a diverged metric, an
 * unlimited `maxEpochs`). These functions encode such numbers as `{ "$number": "NaN" }` and back,
 * and drop `undefined` as JSON does, so a value survives a round trip through a file exactly.
 */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json }

const NUMBER = '$number'

export const toJson = (value: unknown): Json => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUMBER]: String(value) }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)))
  if (typeof value === 'object') {
    const out: Record<string, Json> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined && typeof v !== 'function') out[k] = toJson(v)
    return out
  }
  return null
}

const isEncodedNumber = (v: object): v is { $number: string } => {
  const keys = Object.keys(v)
  return keys.length === 1 && keys[0] === NUMBER && typeof (v as Record<string, unknown>)[NUMBER] === 'string'
}

export const fromJson = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(fromJson)
  if (value !== null && typeof value === 'object') {
    if (isEncodedNumber(value)) return Number(value.$number)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]))
  }
  return value
}
