import * as tf from '@tensorflow/tfjs-core'
import type { Backend, BackendName } from './backend.js'
import { tidy } from './tidy.js'

/** Absolute and relative tolerance: values agree when |a - b| <= atol + rtol * |reference|. */
export interface Tolerance {
  readonly atol: number
  readonly rtol: number
}

/** How far a backend's results are from the reference backend's. */
export interface Agreement {
  readonly backend: BackendName
  readonly reference: BackendName
  /** The largest |a - b| over all values (0 when both are NaN or the same infinity). */
  readonly maxAbsDiff: number
  /** The largest |a - b| / max(|b|, 1e-12) over all values. */
  readonly maxRelDiff: number
  readonly tolerance: Tolerance
  readonly agrees: boolean
  /** The first values that disagree, for the failure message: `[path, index, value, reference]`. */
  readonly worst: readonly (readonly [string, number, number, number])[]
}

type Leaves = Map<string, Float32Array | Int32Array | Uint8Array>

/** Every tensor in a result (a tensor, an array or a record of them, nested), by path. */
const leavesOf = (value: unknown, path = '', out: Map<string, tf.Tensor> = new Map()): Map<string, tf.Tensor> => {
  if (value instanceof tf.Tensor) out.set(path === '' ? '.' : path, value)
  else if (Array.isArray(value)) value.forEach((v, i) => leavesOf(v, `${path}[${i}]`, out))
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leavesOf(v, path === '' ? k : `${path}.${k}`, out)
  return out
}

/** Runs `compute` on `backend` and reads every tensor of its result (asynchronously: any backend). */
const run = async (backend: Backend, compute: () => unknown): Promise<Leaves> => {
  backend.activate()
  const result = tidy(() => [...leavesOf(compute())])
  try {
    const values = await Promise.all(result.map(([, t]) => t.data()))
    return new Map(result.map(([path], i) => [path, values[i] as Float32Array]))
  } finally {
    tf.dispose(result.map(([, t]) => t))
  }
}

/**
 * Runs `compute` on `backend` and on `reference` (cpu by default in the conformance suite) and
 * measures how far the results are apart. `compute` builds its own inputs (from host arrays or
 * seeded keys), so that each run creates them in the backend that is current; every tensor it
 * creates is released. Use it to check a step function of your own on several backends.
 *
 * @example
 * const a = await agreement(webgpu, cpu, () => tf.matMul(tf.tensor2d(x, [4, 8]), tf.tensor2d(w, [8, 2])), { atol: 1e-5, rtol: 1e-4 })
 * expect(a.agrees).toBe(true)
 */
export const agreement = async (backend: Backend, reference: Backend, compute: () => unknown, tolerance: Tolerance): Promise<Agreement> => {
  const got = await run(backend, compute)
  const expected = await run(reference, compute)
  let maxAbsDiff = 0
  let maxRelDiff = 0
  const worst: [string, number, number, number][] = []
  const paths = new Set([...got.keys(), ...expected.keys()])
  for (const path of paths) {
    const a = got.get(path)
    const b = expected.get(path)
    if (a === undefined || b === undefined || a.length !== b.length) {
      maxAbsDiff = Number.POSITIVE_INFINITY
      worst.push([path, -1, a?.length ?? Number.NaN, b?.length ?? Number.NaN])
      continue
    }
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as number
      const y = b[i] as number
      if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue
      const abs = Math.abs(x - y)
      // A non-finite value agrees only with the very same value (a relative tolerance of an
      // infinite reference would accept anything).
      const d = Number.isNaN(abs) || !Number.isFinite(x) || !Number.isFinite(y) ? Number.POSITIVE_INFINITY : abs
      maxAbsDiff = Math.max(maxAbsDiff, d)
      maxRelDiff = Math.max(maxRelDiff, d / Math.max(Math.abs(y), 1e-12))
      if (!(d <= tolerance.atol + tolerance.rtol * Math.abs(y)) && worst.length < 5) worst.push([path, i, x, y])
    }
  }
  return { backend: backend.name, reference: reference.name, maxAbsDiff, maxRelDiff, tolerance, agrees: worst.length === 0, worst }
}
