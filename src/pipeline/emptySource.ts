import type { WarningKind } from './events.js'

/** A `warning` event's content, before its time. */
export interface WarningText {
  readonly kind: WarningKind
  readonly message: string
}

const intention = 'Make sure this was your intention.'

/**
 * Lightning's warning for a data loader of length zero ("Total length of `DataLoader` across
 * ranks is zero. Please make sure this was your intention."), for each way a source can be empty:
 * declared empty (`numBatches: 0`, known before the run starts), or of unknown length and run
 * out before its first batch (known when it happens).
 */
export const emptySource = {
  /** The training source declares no batches: training is skipped (after the sanity check, as in Lightning). */
  train: (): WarningText => ({ kind: 'emptyTrainSource', message: `the training source has no batches (numBatches 0): training is skipped. ${intention}` }),
  /** A training source of unknown length had nothing in epoch `epoch` (0-based): the run ends. */
  trainRanOut: (epoch: number): WarningText => ({
    kind: 'emptyTrainSource',
    message: `the training source (of unknown length) yielded no batches in epoch ${epoch + 1}: training ends here. ${intention}`,
  }),
  /** The validation source declares no batches: validation is skipped. */
  val: (): WarningText => ({ kind: 'emptyValSource', message: `the validation source has no batches (numBatches 0): validation is skipped. ${intention}` }),
  /** A validation source of unknown length had nothing: validation gives no metrics. */
  valRanOut: (): WarningText => ({ kind: 'emptyValSource', message: `the validation source (of unknown length) yielded no batches: validation gives no metrics. ${intention}` }),
}
