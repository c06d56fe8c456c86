import { rxtrainError } from '../errors/rxtrainError.js'

/**
 * Construction-time checks for optimizer hyperparameters (internal). Each throws a
 * `ConfigError` that names the builder, the field, the value received and the accepted range,
 * so a bad configuration fails where it is written rather than as NaN parameters many steps later.
 */
export const requireConfig = (ok: boolean, where: string, field: string, value: unknown, expected: string): void => {
  if (!ok)
    throw rxtrainError(
      'ConfigError',
      `${where}: ${field} must be ${expected}, got ${String(value)}`,
      `set ${field} of ${where} to ${expected}.`,
      { builder: where, field, value },
    )
}

/** A number that is neither NaN nor infinite. */
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** `v` is a finite number. */
export const requireFinite = (where: string, field: string, v: number): void =>
  requireConfig(isFiniteNumber(v), where, field, v, 'a finite number')

/** `v` is finite and `>= 0`. */
export const requireNonNegative = (where: string, field: string, v: number): void =>
  requireConfig(isFiniteNumber(v) && v >= 0, where, field, v, 'a finite number >= 0')

/** `v` is finite and `> 0`. */
export const requirePositive = (where: string, field: string, v: number): void =>
  requireConfig(isFiniteNumber(v) && v > 0, where, field, v, 'a finite number > 0')

/** `v` lies in `[0, 1)` (decay rates such as Adam's b1 and b2). */
export const requireDecayRate = (where: string, field: string, v: number): void =>
  requireConfig(isFiniteNumber(v) && v >= 0 && v < 1, where, field, v, 'in [0, 1)')

/** `v` is an integer `>= min` (step counts, patience). */
export const requireInteger = (where: string, field: string, v: number, min: number): void =>
  requireConfig(Number.isInteger(v) && v >= min, where, field, v, `an integer >= ${min}`)
