import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { structureDiff } from '../tree/tree.js'

/** A parameter as a manifest lists it (`LeafSpec`, with the dtype as read from JSON). */
export interface SavedLeaf {
  readonly path: string
  readonly shape: readonly number[]
  readonly dtype: string
}

/** How many differing leaves a message names (the error's `details.diff` has them all). */
const NAMED = 10

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/**
 * Whether a checkpoint's parameters (its manifest's `paramSpec`) are those of the model at hand,
 * and if not, a `StructureError` that says how they differ: how many of the model's parameters
 * the checkpoint lacks, how many it has that the model does not, how many have another shape or
 * dtype, and the first few of them by name. Checked on the manifest, before the tensor file is
 * read, so a manifest of another model is reported as such and never as a damaged tensor file.
 */
export const otherModel = (
  dir: string,
  expected: readonly SavedLeaf[],
  saved: readonly SavedLeaf[],
  remedy: string,
): RxtrainError<'StructureError'> | undefined => {
  const diff = structureDiff(expected, saved)
  if (diff.length === 0) return undefined
  const missing = diff.filter((d) => d.startsWith('missing ')).length
  const extra = diff.filter((d) => d.startsWith('unexpected ')).length
  const reshaped = diff.length - missing - extra
  const counts = [
    missing > 0 && `${plural(missing, 'parameter', 'parameters')} of this model ${missing === 1 ? 'is' : 'are'} missing from it`,
    extra > 0 && `${plural(extra, 'parameter', 'parameters')} in it ${extra === 1 ? 'is' : 'are'} not in this model`,
    reshaped > 0 && `${plural(reshaped, 'parameter has', 'parameters have')} another shape or dtype`,
  ].filter((c): c is string => c !== false)
  return rxtrainError(
    'StructureError',
    `${dir} was saved from a model of another structure (${counts.join(', ')}; this model has ${expected.length}, the checkpoint ${saved.length}): ${diff.slice(0, NAMED).join('; ')}${diff.length > NAMED ? ` (+${diff.length - NAMED} more)` : ''}`,
    remedy,
    { file: dir, diff },
  )
}
