import type * as tf from '@tensorflow/tfjs-core'

/**
 * A model's parameters: an immutable record tree whose leaves are tensors. Paths join the keys
 * with `/`, e.g. `dense0/kernel`.
 *
 * @example
 * const p: Params = { dense0: { kernel: tf.zeros([784, 128]), bias: tf.zeros([128]) } }
 * flattenParams(p).map((l) => l.path)   // ['dense0/bias', 'dense0/kernel']
 */
export type Params = { readonly [name: string]: tf.Tensor | Params }

/**
 * Any state a pure function returns: tensors and plain data, nested in records and arrays.
 * Optimizer states, layer states and train states are `StateTree`s.
 *
 * @example
 * const s: StateTree = { count: 3, momentum: { w: tf.zeros([2]) }, history: [0.5, 0.25], best: null }
 * tensorsOf(s).length   // 1
 * disposeTree(s)
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
