import * as tf from '@tensorflow/tfjs-core'

const REF = '$tensor'

/** A tree's structure as plain data (what a message can carry), and its tensors in walk order. */
export interface Templated {
  /** The tree with `{ $tensor: i }` in place of its `i`-th tensor. */
  readonly template: unknown
  readonly tensors: tf.Tensor[]
}

/**
 * Splits a tree of records, arrays, plain values and tensors into a template and its tensors, so
 * that the structure can cross to another thread while the values go through shared memory.
 *
 * @example
 * toTemplate({ count: 3, mu: { w: t } }) // { template: { count: 3, mu: { w: { $tensor: 0 } } }, tensors: [t] }
 */
export const toTemplate = (tree: unknown): Templated => {
  const tensors: tf.Tensor[] = []
  const walk = (v: unknown): unknown => {
    if (v instanceof tf.Tensor) return { [REF]: tensors.push(v) - 1 }
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    return v
  }
  return { template: walk(tree), tensors }
}

/** The tree `template` describes, with its tensor references replaced by `tensors`. */
export const fromTemplate = (template: unknown, tensors: readonly tf.Tensor[]): unknown => {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v)
      if (keys.length === 1 && keys[0] === REF) return tensors[(v as Record<string, number>)[REF] as number]
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  return walk(template)
}
