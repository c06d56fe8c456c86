import type { GradientTransform } from './transform.js'

/**
 * The state of a transform that remembers nothing between steps.
 *
 * @example
 * const clipState: optim.EmptyState = optim.clipByGlobalNorm(1).init(params) // null
 */
export type EmptyState = null

/**
 * The transform that returns its updates unchanged (the same tensors): the unit of `chain`, and
 * the neutral choice where a transform is optional.
 *
 * @example
 * const [updates] = optim.identity().update(grads, null, params) // updates === grads
 * const optimizerFor = (clip: boolean) => optim.chain(clip ? optim.clipByGlobalNorm(1) : optim.identity(), optim.adam())
 */
export const identity = (): GradientTransform<EmptyState> => ({
  init: () => null,
  update: (updates, state) => [updates, state],
})
