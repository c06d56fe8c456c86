import type { GradientTransform } from './transform.js'

/** The state of a transform that remembers nothing between steps. */
export type EmptyState = null

/**
 * The transform that returns its updates unchanged (the same tensors): the unit of `chain`, and
 * the neutral choice where a transform is optional.
 *
 * @example
 * const [updates] = identity().update(grads, null, params) // updates === grads
 */
export const identity = (): GradientTransform<EmptyState> => ({
  init: () => null,
  update: (updates, state) => [updates, state],
})
