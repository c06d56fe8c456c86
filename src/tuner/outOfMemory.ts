import { isRxtrainError } from '../errors/rxtrainError.js'

/**
 * The messages of running out of memory, by backend: wasm (`memory access out of bounds`, a
 * failed `WebAssembly.Memory.grow`, "Out of memory"), cpu (a typed array too large for the heap),
 * webgpu (a buffer it could not allocate), tensorflow (`OOM when allocating tensor`).
 */
const OOM = [
  /out of memory/i,
  /memory access out of bounds/i,
  /\bOOM\b/,
  /Array buffer allocation failed/i,
  /Invalid typed array length/i,
  /failed to allocate/i,
  /allocation failed/i,
  /could not allocate/i,
  /WebAssembly\.Memory/i,
  /maximum memory size exceeded/i,
]

/**
 * Whether an error (or any error it wraps: a step error's cause, an `Error.cause`) says that the
 * backend ran out of memory (Lightning's `is_oom_error`). A batch-size search treats it as "too
 * large" and anything else as a real failure.
 *
 * @example
 * tuner.isOutOfMemory(new Error('memory access out of bounds')) // true (wasm)
 * tuner.isOutOfMemory(new Error('shapes [2,3] and [4] do not match')) // false
 */
export const isOutOfMemory = (error: unknown, depth = 0): boolean => {
  if (depth > 8 || error === undefined || error === null) return false
  const text = isRxtrainError(error) ? error.problem : error instanceof Error ? error.message : typeof error === 'string' ? error : ''
  if (OOM.some((re) => re.test(text))) return true
  const wrapped = isRxtrainError(error) ? (error.details as { readonly cause?: unknown } | undefined)?.cause : error instanceof Error ? error.cause : undefined
  return wrapped !== undefined && isOutOfMemory(wrapped, depth + 1)
}
