import { formatConfigPath, type PathSegment } from './configPath.js'

/*
 * Combining config layers: several files merged in order, then the command line's overrides, as
 * LightningCLI does (objects merge key by key, anything else, lists included, is replaced).
 */

/** A plain object (not an array, not null). */
export const isPlainObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * `over` laid on `base`: objects merge key by key (recursively), everything else, arrays
 * included, is replaced by `over`'s value. Neither input is changed.
 *
 * @example
 * mergeConfigs({ trainer: { maxEpochs: 3, seed: 0 }, hooks: ['a'] }, { trainer: { maxEpochs: 5 }, hooks: ['b'] })
 * // { trainer: { maxEpochs: 5, seed: 0 }, hooks: ['b'] }
 */
export const mergeConfigs = (base: unknown, over: unknown): unknown => {
  if (!isPlainObject(base) || !isPlainObject(over)) return over
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) merged[key] = key in base ? mergeConfigs(base[key], value) : value
  return merged
}

/**
 * `config` with `value` at `path`, creating objects on the way; or why it cannot be set (a
 * number or string stands where the path goes on, or an index points past the end of a list).
 *
 * @example
 * setConfigValue({ trainer: { seed: 0 } }, ['trainer', 'maxEpochs'], 5)   // { ok: { trainer: { seed: 0, maxEpochs: 5 } } }
 */
export const setConfigValue = (config: unknown, path: readonly PathSegment[], value: unknown, done: readonly PathSegment[] = []): { readonly ok: unknown } | { readonly problem: string } => {
  const [head, ...rest] = path
  if (head === undefined) return { ok: value }
  const here = done.length === 0 ? 'the config' : formatConfigPath(done)
  const shown = (u: unknown): string => (u === undefined ? 'absent' : JSON.stringify(u))
  if (typeof head === 'number') {
    if (!Array.isArray(config)) return { problem: `${here} is ${shown(config)}, not a list, so it has no entry [${head}]` }
    if (head > config.length) return { problem: `${here} has ${config.length} entries, so [${head}] is past its end` }
    const inner = setConfigValue(config[head], rest, value, [...done, head])
    if ('problem' in inner) return inner
    const copy = [...(config as unknown[])]
    copy[head] = inner.ok
    return { ok: copy }
  }
  if (config !== undefined && config !== null && !isPlainObject(config)) return { problem: `${here} is ${shown(config)}, not an object, so it has no key '${head}'` }
  const object = isPlainObject(config) ? config : {}
  const inner = setConfigValue(object[head], rest, value, [...done, head])
  if ('problem' in inner) return inner
  return { ok: { ...object, [head]: inner.ok } }
}
