import type { FitEvent, Metrics } from '../pipeline/events.js'

/** One row a logger writes: where in training it was logged, and the values. */
export interface LogRow {
  /** `train` (a step), `val` (a validation), `epoch` (an epoch's training values). */
  readonly kind: 'train' | 'val' | 'epoch'
  readonly epoch: number
  readonly step: number
  /** Wall-clock time of the event, ms since the Unix epoch. */
  readonly time: number
  readonly metrics: Metrics
}

/**
 * The row an event contributes to the logs, if any (Lightning's logging rules): a training step
 * when `shouldLog`, every validation, and each epoch's training values. Every logger (CSV,
 * JSONL, TensorBoard) writes exactly these rows, at these steps.
 */
export const logRowOf = (e: FitEvent): LogRow | undefined => {
  switch (e.type) {
    case 'trainStep':
      return e.shouldLog && Object.keys(e.metrics).length > 0 ? { kind: 'train', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    case 'validationEnd':
      return Object.keys(e.metrics).length > 0 ? { kind: 'val', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    case 'epochEnd':
      return Object.keys(e.metrics).length > 0 ? { kind: 'epoch', epoch: e.epoch, step: e.logStep, time: e.time, metrics: e.metrics } : undefined
    default:
      return undefined
  }
}

/** The hyperparameters of a run as flat name → scalar pairs (trainer options plus the user's own). */
export const flatHparams = (options: unknown, extra: Readonly<Record<string, unknown>> = {}): Record<string, number | string | boolean> => {
  const out: Record<string, number | string | boolean> = {}
  const put = (prefix: string, v: unknown): void => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[prefix] = v
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) put(prefix === '' ? k : `${prefix}.${k}`, x)
  }
  put('', options)
  put('', extra)
  return out
}
