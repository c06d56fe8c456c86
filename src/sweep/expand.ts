import { foldIn, type Key, key, randomBits } from '../random/key.js'
import type { ParameterSpec, SweepSpec } from './sweepSpec.js'

/**
 * One trial of a sweep: its number, its folder name, and the value of each swept config path
 * (in the order the sweep file lists the paths).
 */
export interface Trial {
  readonly index: number
  readonly id: string
  readonly values: Readonly<Record<string, unknown>>
}

/** A trial's folder name under the sweep's folder. */
export const trialId = (index: number): string => `trial_${index}`

const trial = (index: number, entries: readonly (readonly [string, unknown])[]): Trial => ({ index, id: trialId(index), values: Object.fromEntries(entries) })

/**
 * Every combination of the parameters' values, as `itertools.product` orders them: the first
 * parameter varies slowest, the last fastest, each through its values in the order written.
 *
 * @example
 * gridTrials([['a', { values: [1, 2] }], ['b', { values: ['x', 'y'] }]]).map((t) => t.values)
 * // [{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]
 */
export const gridTrials = (parameters: readonly (readonly [string, ParameterSpec])[]): Trial[] => {
  let combos: (readonly [string, unknown])[][] = [[]]
  for (const [name, p] of parameters) {
    if (!('values' in p)) throw new RangeError(`gridTrials: ${name} is a range; a grid needs values`)
    combos = combos.flatMap((c) => p.values.map((v) => [...c, [name, v] as const]))
  }
  return combos.map((c, i) => trial(i, c))
}

const TWO_POW_M53 = 2 ** -53

/** A double uniform in [0, 1) with 53 random bits, from a key (two 32-bit words). */
export const unitDouble = (k: Key): number => {
  const [a, b] = randomBits(k, 2) as unknown as [number, number]
  return ((a >>> 5) * 67_108_864 + (b >>> 6)) * TWO_POW_M53
}

/**
 * A parameter's value at a uniform draw `u` in [0, 1): a value of the list (each equally likely),
 * a uniform or log-uniform number in [min, max], or an integer in [min, max] (both ends included).
 *
 * @example
 * drawValue({ distribution: 'log_uniform', min: 1e-4, max: 1e-2 }, 0.5)   // 0.001: the geometric middle
 */
export const drawValue = (p: ParameterSpec, u: number): unknown => {
  if ('values' in p) return p.values[Math.min(p.values.length - 1, Math.floor(u * p.values.length))]
  const { min, max } = p
  switch (p.distribution) {
    case 'uniform':
      return min + u * (max - min)
    case 'int_uniform':
      return Math.min(max, min + Math.floor(u * (max - min + 1)))
    case 'log_uniform':
      // exp(log(x)) can land an ulp outside the range: clamp.
      return Math.min(max, Math.max(min, min * Math.exp(u * Math.log(max / min))))
  }
}

/**
 * `count` random trials, a pure function of the seed: trial k's value of the j-th parameter is
 * drawn with the key `foldIn(foldIn(key(seed), k), j)`, so the same sweep file gives the same
 * trials on every machine, and raising `trials` keeps the trials already drawn.
 *
 * @example
 * randomTrials([['model.args.lr', { distribution: 'log_uniform', min: 1e-4, max: 1e-1 }]], 3, 0)
 * // three trials, each lr in [1e-4, 1e-1]; the same three for seed 0 every time
 */
export const randomTrials = (parameters: readonly (readonly [string, ParameterSpec])[], count: number, seed: number): Trial[] => {
  const root = key(seed)
  return Array.from({ length: count }, (_, k) => {
    const trialKey = foldIn(root, k)
    return trial(
      k,
      parameters.map(([name, p], j) => [name, drawValue(p, unitDouble(foldIn(trialKey, j)))] as const),
    )
  })
}

/**
 * The trials of a sweep, in order: its grid, or its random draws.
 *
 * @example
 * expandSweep(spec).length   // 6 for a 3 x 2 grid
 */
export const expandSweep = (spec: SweepSpec): Trial[] =>
  spec.method === 'grid' ? gridTrials(spec.parameters) : randomTrials(spec.parameters, spec.trials ?? 1, spec.seed)
