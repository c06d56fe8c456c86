import type { StorageDtype } from '../../backends/precision.js'
import { rxtrainError } from '../../errors/rxtrainError.js'
import type { Mode } from './topK.js'

/**
 * Lightning `ModelCheckpoint`'s options, with its names and defaults.
 *
 * @example
 * const best: CheckpointOptions = { monitor: 'val/acc', mode: 'max', saveTopK: 2, filename: '{epoch}-{val/acc:.4f}' }
 * const every1000: CheckpointOptions = { dir: 'runs/mnist/steps', everyNTrainSteps: 1000, saveTopK: -1 }
 * fit(module, { train, val }, { maxEpochs: 10, defaultRootDir: 'runs/mnist' }).pipe(checkpoint(best), checkpoint(every1000)).subscribe()
 */
export interface CheckpointOptions {
  /** Where checkpoints go. Default `<defaultRootDir>/checkpoints`. */
  readonly dir?: string
  /** Name template, e.g. `'{epoch}-{step}-{val/loss:.4f}'`. Default `'{epoch}-{step}'`. */
  readonly filename?: string
  /** The logged value that ranks checkpoints; without one, the latest checkpoints are kept. */
  readonly monitor?: string
  readonly mode?: Mode
  /** How many checkpoints to keep: k best (or latest), -1 all, 0 none. Default 1. */
  readonly saveTopK?: number
  /** Also keep a `last` pointer at the newest checkpoint. Default false. */
  readonly saveLast?: boolean
  /** Save every n epochs (default 1 when neither of the two below is given, else off). */
  readonly everyNEpochs?: number
  /** Save every n optimizer steps. */
  readonly everyNTrainSteps?: number
  /** Save when this many milliseconds have passed since the last save (checked after each step). */
  readonly trainTimeInterval?: number
  /** Store parameters and model state only (for inference; cannot resume training). */
  readonly saveWeightsOnly?: boolean
  /**
   * The dtype the weights (parameters and model state) are stored in. `'float16'` and
   * `'bfloat16'` halve them and round the values (a run resumed from them continues from the
   * rounded weights). Optimizer state stays float32, except under `'16-true'` / `'bf16-true'`,
   * which keep it rounded anyway. Default: the precision policy's storage, which loses nothing:
   * `'float32'`, or the half format of a `'16-true'` / `'bf16-true'` run.
   */
  readonly dtype?: StorageDtype
  /** Save at the end of the training epoch rather than after validation (Lightning's rule decides by default). */
  readonly saveOnTrainEpochEnd?: boolean
  /** `{val/loss}` becomes `val_loss=0.31` (true) or `0.31` (false). Default true. */
  readonly autoInsertMetricName?: boolean
  /**
   * On SIGINT/SIGTERM (`fitEnd` reason `interrupted`), save and point `last` at it. Default true.
   * With several checkpoint hooks, one saves: the first with `saveLast`, else the first with this on.
   */
  readonly saveOnInterrupt?: boolean
}

/** Throws a `ConfigError` for options that cannot work, before the run starts. */
export const validateCheckpointOptions = (o: CheckpointOptions): void => {
  const bad = (field: string, expected: string) =>
    rxtrainError('ConfigError', `checkpoint option ${field} must be ${expected}`, `fix checkpoint({ ${field} }).`, { field })
  if (o.saveTopK !== undefined && !(Number.isInteger(o.saveTopK) && o.saveTopK >= -1)) throw bad('saveTopK', 'an integer >= -1')
  if (o.mode !== undefined && o.mode !== 'min' && o.mode !== 'max') throw bad('mode', "'min' or 'max'")
  for (const f of ['everyNEpochs', 'everyNTrainSteps'] as const)
    if (o[f] !== undefined && !(Number.isInteger(o[f]) && (o[f] as number) >= 0)) throw bad(f, 'an integer >= 0')
  if (o.trainTimeInterval !== undefined && !(o.trainTimeInterval > 0)) throw bad('trainTimeInterval', 'a positive number of milliseconds')
  if (o.dtype !== undefined && !['float32', 'float16', 'bfloat16'].includes(o.dtype)) throw bad('dtype', "'float32', 'float16' or 'bfloat16'")
  if (o.monitor === undefined && o.saveTopK !== undefined && o.saveTopK > 1)
    throw rxtrainError('ConfigError', `checkpoint({ saveTopK: ${o.saveTopK} }) needs a monitor to rank checkpoints`, "add monitor: 'val/loss' (and mode), or use saveTopK: -1 to keep every checkpoint.", {
      field: 'saveTopK',
    })
}
