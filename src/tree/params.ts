import type * as tf from '@tensorflow/tfjs-core'

/**
 * A model's parameters: an immutable record tree whose leaves are tensors. Paths join the keys
 * with `/`, e.g. `dense0/kernel`.
 */
export type Params = { readonly [name: string]: tf.Tensor | Params }

/**
 * Any state a pure function returns: tensors and plain data, nested in records and arrays.
 * Optimizer states, layer states and train states are `StateTree`s.
 */
export type StateTree =
  | tf.Tensor
  | number
  | boolean
  | string
  | null
  | undefined
  | readonly StateTree[]
  | { readonly [key: string]: StateTree }
