import { exampleCount, fromArrays } from './arraySource.js'
import { batchRows } from './batching.js'
import type { BatchSource } from './source.js'

export type { SourceRecipe } from './recipe.js'
import type { SourceRecipe } from './recipe.js'

/** The source a recipe describes. */
export const sourceFromRecipe = (recipe: SourceRecipe): BatchSource<unknown> => fromArrays(recipe.columns, recipe.options)

/** How many rows each batch of a pass has (the whole batch, over all ranks), by its index. */
export const recipeBatchSizes = (recipe: SourceRecipe): ((batchIdx: number) => number) => {
  const n = exampleCount(recipe.columns)
  return (batchIdx) => {
    const [from, to] = batchRows(n, recipe.options, batchIdx)
    return to - from
  }
}

/**
 * The recipe with each column's values in an array of their own: posting a view of a larger
 * buffer (a slice of a file read whole) would copy the whole buffer to every worker.
 */
export const compactRecipe = (recipe: SourceRecipe): SourceRecipe => ({
  ...recipe,
  columns: Object.fromEntries(
    Object.entries(recipe.columns).map(([name, c]) => [name, c.data.byteLength === c.data.buffer.byteLength ? c : { ...c, data: c.data.slice() }]),
  ),
})
