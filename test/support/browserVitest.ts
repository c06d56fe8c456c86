/**
 * Just enough of vitest's `describe` / `it` / `expect` to run a shared test suite (such as
 * test/effects/fileSystemContract.ts) inside a browser page: bundle the page with
 * `bundleForBrowser(entry, { alias: { vitest: 'test/support/browserVitest.ts' } })`, then
 * `await runRegistered()` there and hand its results back to the Node test, which asserts on them.
 * Matchers: toBe, toEqual, toMatchObject, toContain, toBeGreaterThan(OrEqual), toMatch, toBeUndefined.
 */
type Test = { readonly name: string; readonly fn: () => unknown }
const tests: Test[] = []
const prefix: string[] = []

export const describe = (name: string, body: () => void): void => {
  prefix.push(name)
  try {
    body()
  } finally {
    prefix.pop()
  }
}

export const it = (name: string, fn: () => unknown): void => {
  tests.push({ name: [...prefix, name].join(' > '), fn })
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v, (_, x: unknown) => (x instanceof Uint8Array ? `Uint8Array[${Array.from(x).join(',')}]` : x))
  } catch {
    return String(v)
  }
}

const equal = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

const matches = (a: unknown, pattern: unknown): boolean => {
  if (typeof pattern !== 'object' || pattern === null || typeof a !== 'object' || a === null) return equal(a, pattern)
  return Object.entries(pattern).every(([k, v]) => matches((a as Record<string, unknown>)[k], v))
}

export const expect = (actual: unknown, message?: string) => {
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`${message === undefined ? '' : `${message}: `}expected ${show(actual)} ${what}`)
  }
  return {
    toBe: (v: unknown) => check(Object.is(actual, v), `to be ${show(v)}`),
    toEqual: (v: unknown) => check(equal(actual, v), `to equal ${show(v)}`),
    toMatchObject: (v: unknown) => check(matches(actual, v), `to match ${show(v)}`),
    toContain: (v: unknown) => check((typeof actual === 'string' && typeof v === 'string' ? actual.includes(v) : Array.isArray(actual) && actual.includes(v)), `to contain ${show(v)}`),
    toBeGreaterThan: (v: number) => check((actual as number) > v, `to be > ${v}`),
    toBeGreaterThanOrEqual: (v: number) => check((actual as number) >= v, `to be >= ${v}`),
    toMatch: (v: RegExp) => check(typeof actual === 'string' && v.test(actual), `to match ${String(v)}`),
    toBeUndefined: () => check(actual === undefined, 'to be undefined'),
  }
}

/** Runs every registered test in order; a failure is its message (and the run goes on). */
export const runRegistered = async (): Promise<{ readonly name: string; readonly error?: string }[]> => {
  const results: { name: string; error?: string }[] = []
  for (const t of tests) {
    try {
      await t.fn()
      results.push({ name: t.name })
    } catch (e) {
      results.push({ name: t.name, error: e instanceof Error ? e.message : String(e) })
    }
  }
  return results
}
