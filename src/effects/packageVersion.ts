import { readFileSync } from 'node:fs'

/**
 * rxtrain's own version, from its package.json (two folders up from this file, both in src/ and
 * in the built dist/), for run records (`result.json`). `'unknown'` if it cannot be read.
 *
 * @example
 * const version = rxtrainVersion()   // '0.2.0'
 */
export const rxtrainVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { readonly name?: unknown; readonly version?: unknown }
    return pkg.name === 'rxtrain' && typeof pkg.version === 'string' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
