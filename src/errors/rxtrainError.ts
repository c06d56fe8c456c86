/**
 * The kinds of failure, one per `RxtrainError`: `ConfigError` (options), `BackendError` (a backend
 * that cannot start), `DataError`, `ShapeError`, `NonFiniteError` (a NaN or infinite loss),
 * `StepError` (a step that threw), `FileError`, `StructureError` (trees that do not match),
 * `CheckpointError`, `FlowError` (hooks and operators placed wrongly). Branch on it, never on
 * message text.
 *
 * @example
 * const exitCode = (tag: ErrorTag): number => (tag === 'ConfigError' || tag === 'DataError' ? 2 : 1)
 * fit(module, { train, val }).subscribe({ error: (e) => { process.exitCode = isRxtrainError(e) ? exitCode(e.tag) : 1 } })
 */
export type ErrorTag =
  | 'ConfigError'
  | 'BackendError'
  | 'DataError'
  | 'ShapeError'
  | 'NonFiniteError'
  | 'StepError'
  | 'FileError'
  | 'StructureError'
  | 'CheckpointError'
  | 'FlowError'

/** Where a failure happened, as plain data (the option's `field`, the file's `path`, ...). */
export type ErrorDetails = Readonly<Record<string, unknown>>

/**
 * Every failure rxtrain reports is an `RxtrainError`: a tagged value that says what went wrong
 * (`problem`), where (`details`), and what to do about it (`remedy`). It extends `Error` only so
 * that it travels through RxJS error channels, promises and `throw` unchanged; callers branch on
 * `tag`, never on message text.
 *
 * @example
 * import { isRxtrainError } from 'rxtrain'
 * fit(module, { train, val }, { maxEpochs: -5 }).subscribe({
 *   error: (e) => { if (isRxtrainError(e) && e.tag === 'ConfigError') console.error(e.message) },
 * })
 */
export class RxtrainError<T extends ErrorTag = ErrorTag> extends Error {
  override readonly name = 'RxtrainError'
  constructor(
    readonly tag: T,
    readonly problem: string,
    readonly remedy: string,
    readonly details: ErrorDetails = {},
  ) {
    super(`${tag}: ${problem}\n  How to fix: ${remedy}`)
  }
}

/** An `RxtrainError` of a tag (the constructor as a function). */
export const rxtrainError = <T extends ErrorTag>(
  tag: T,
  problem: string,
  remedy: string,
  details: ErrorDetails = {},
): RxtrainError<T> => new RxtrainError(tag, problem, remedy, details)

/**
 * Whether a thrown or emitted value is an `RxtrainError` (then branch on its `tag`).
 *
 * @example
 * try {
 *   await lastValueFrom(fit(module, { train, val }, { maxEpochs: 1 }))
 * } catch (e) {
 *   if (isRxtrainError(e)) console.error(e.tag, e.problem, e.remedy, e.details)   // 'DataError', ...
 *   else throw e
 * }
 */
export const isRxtrainError = (u: unknown): u is RxtrainError => u instanceof RxtrainError

/** Narrows to one tag, e.g. `hasTag(e, 'ConfigError')`. */
export const hasTag = <T extends ErrorTag>(u: unknown, tag: T): u is RxtrainError<T> =>
  isRxtrainError(u) && u.tag === tag

/** The message of anything thrown, for wrapping foreign errors. */
export const messageOf = (u: unknown): string => (u instanceof Error ? u.message : String(u))
